import { describe, expect, it } from 'vitest';
import { intSerde, longSerde, SerdeError, stringSerde } from '../src/index.ts';

function hex(bytes: Buffer): string {
  return bytes.toString('hex');
}

function reasonOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof SerdeError) return error.reason;
    throw error;
  }
  return undefined;
}

describe('stringSerde (UTF-8, like Kafka StringSerializer)', () => {
  it('round-trips text including multi-byte characters', () => {
    for (const text of ['', 'order-1', 'JUMPERS', 'pâté 注文 🧦']) {
      expect(stringSerde.serialize(text)).toEqual(Buffer.from(text, 'utf8'));
      expect(stringSerde.deserialize(stringSerde.serialize(text))).toBe(text);
    }
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(reasonOf(() => stringSerde.deserialize(Buffer.from([0xc3, 0x28])))).toBe('invalid-utf8');
  });
});

describe('longSerde (8-byte big-endian signed, like Kafka LongSerializer)', () => {
  const cases: [number, string][] = [
    [0, '0000000000000000'],
    [1, '0000000000000001'],
    [-1, 'ffffffffffffffff'],
    [42, '000000000000002a'],
    [2 ** 31 - 1, '000000007fffffff'],
    [-(2 ** 31), 'ffffffff80000000'],
    [2 ** 32, '0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
    [Number.MIN_SAFE_INTEGER, 'ffe0000000000001'],
  ];

  it.each(cases)('encodes %d as %s and back', (value, bytes) => {
    const encoded = longSerde.serialize(value);
    expect(encoded).toHaveLength(8);
    expect(hex(encoded)).toBe(bytes);
    expect(longSerde.deserialize(Buffer.from(bytes, 'hex'))).toBe(value);
  });

  it('rejects numbers that are not safe integers', () => {
    for (const value of [1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1, -(2 ** 53)]) {
      expect(reasonOf(() => longSerde.serialize(value))).toBe('out-of-range');
    }
  });

  it('rejects any length other than 8 with a clear error', () => {
    for (const length of [0, 1, 4, 7, 9, 16]) {
      expect(() => longSerde.deserialize(Buffer.alloc(length))).toThrow(`a long must be exactly 8 bytes, got ${length}`);
      expect(reasonOf(() => longSerde.deserialize(Buffer.alloc(length)))).toBe('wrong-length');
    }
  });

  it('rejects longs a JS number cannot hold exactly', () => {
    expect(reasonOf(() => longSerde.deserialize(Buffer.from('7fffffffffffffff', 'hex')))).toBe('out-of-range');
    expect(reasonOf(() => longSerde.deserialize(Buffer.from('8000000000000000', 'hex')))).toBe('out-of-range');
    expect(reasonOf(() => longSerde.deserialize(Buffer.from('0020000000000000', 'hex')))).toBe('out-of-range');
  });
});

describe('intSerde (4-byte big-endian signed, like Kafka IntegerSerializer)', () => {
  const cases: [number, string][] = [
    [0, '00000000'],
    [1, '00000001'],
    [-1, 'ffffffff'],
    [75, '0000004b'],
    [2 ** 31 - 1, '7fffffff'],
    [-(2 ** 31), '80000000'],
  ];

  it.each(cases)('encodes %d as %s and back', (value, bytes) => {
    const encoded = intSerde.serialize(value);
    expect(encoded).toHaveLength(4);
    expect(hex(encoded)).toBe(bytes);
    expect(intSerde.deserialize(Buffer.from(bytes, 'hex'))).toBe(value);
  });

  it('rejects numbers outside int32 or not integers', () => {
    for (const value of [2 ** 31, -(2 ** 31) - 1, 0.5, Number.NaN, Number.NEGATIVE_INFINITY]) {
      expect(reasonOf(() => intSerde.serialize(value))).toBe('out-of-range');
    }
  });

  it('rejects any length other than 4 with a clear error', () => {
    for (const length of [0, 3, 5, 8]) {
      expect(() => intSerde.deserialize(Buffer.alloc(length))).toThrow(`an int must be exactly 4 bytes, got ${length}`);
      expect(reasonOf(() => intSerde.deserialize(Buffer.alloc(length)))).toBe('wrong-length');
    }
  });
});
