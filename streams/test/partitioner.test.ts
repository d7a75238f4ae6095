import { compatibilityPartitioner } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../src/partitioner.ts';

describe('partitionForKey', () => {
  it('matches the murmur2 values of the Java client for known keys', () => {
    // Values from Kafka's own UtilsTest (Utils.murmur2 on these UTF-8 strings).
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });

  it("agrees with the producers' partitioner for 10,000 keys and several partition counts", () => {
    for (const partitions of [1, 3, 7, 12]) {
      for (let i = 0; i < 10_000; i += 1) {
        const key = i % 2 === 0 ? Buffer.from(`order-${i}`) : Buffer.from([i & 0xff, (i >> 8) & 0xff, 0, 0, 0, 0, 0, i % 7]);
        // The client takes the partitioner's number modulo the partition count.
        const expected = compatibilityPartitioner({ topic: 't', key }, key) % partitions;
        expect(partitionForKey(key, partitions)).toBe(expected);
      }
    }
  });
});
