import { describe, expect, it } from 'vitest';
import { parseConsumerPerf, parseProducerPerf } from '../bench/kafka-perf.ts';

describe('parseProducerPerf', () => {
  it('reads the summary line, not the progress lines before it', () => {
    const output = [
      '102001 records sent, 20396.1 records/sec (3.89 MB/sec), 862.4 ms avg latency, 1371.0 ms max latency.',
      '500000 records sent, 61050.061050 records/sec (11.64 MB/sec), 1143.94 ms avg latency, 1532.00 ms max latency, 1211 ms 50th, 1490 ms 95th, 1517 ms 99th, 1530 ms 99.9th.',
      '',
    ].join('\n');
    expect(parseProducerPerf(output)).toEqual({
      records: 500000,
      recordsPerSecond: 61050.06105,
      megabytesPerSecond: 11.64,
      avgLatencyMs: 1143.94,
      maxLatencyMs: 1532,
      p50Ms: 1211,
      p95Ms: 1490,
      p99Ms: 1517,
    });
  });

  it('says what it got when there is no summary', () => {
    expect(() => parseProducerPerf('Exception in thread "main" org.apache.kafka.common.errors.TimeoutException')).toThrow(/no summary line.*TimeoutException/s);
  });
});

describe('parseConsumerPerf', () => {
  it('reads the values under the header by name, with the fetch-only rates', () => {
    const output = [
      'WARNING: some log line',
      'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec',
      '2026-11-22 07:57:01:123, 2026-11-22 07:57:05:456, 95.3674, 22.0091, 500000, 115393.5, 3012, 1321, 72.1933, 378501.1355',
    ].join('\n');
    expect(parseConsumerPerf(output)).toEqual({ records: 500000, recordsPerSecond: 378501.1355, megabytesPerSecond: 72.1933 });
  });

  it('fails without a header', () => {
    expect(() => parseConsumerPerf('nothing here')).toThrow(/no summary/);
  });
});
