import { describe, expect, it } from 'vitest';
import { parseMetrics } from '../../test/support/prometheus.ts';
import { bucketQuantileMs, serverSideLatencies, summarizeOverload, type OverloadRequest } from '../bench/overload.ts';

describe('the overload step of the benchmark', () => {
  it('counts accepted, refused and failed POSTs, their latencies, the accepted orders without a final state, and the recovery', () => {
    const requests: OverloadRequest[] = [
      { phase: 'burst', sentAt: 0, answeredAt: 40, status: 201, finalAt: 240 },
      { phase: 'burst', sentAt: 10, answeredAt: 12, status: 503, refusedBecause: 'overloaded' },
      { phase: 'burst', sentAt: 20, answeredAt: 25, status: 503 },
      { phase: 'burst', sentAt: 30, answeredAt: 90, status: 201 },
      { phase: 'burst', sentAt: 40, answeredAt: 30_040, failure: 'ECONNRESET' },
      { phase: 'burst', sentAt: 50, answeredAt: 60, status: 400 },
      // The burst ends at 1,000.
      { phase: 'recovery', sentAt: 1_000, answeredAt: 1_003, status: 503 },
      { phase: 'recovery', sentAt: 1_050, answeredAt: 1_100, status: 201, finalAt: 1_300 },
      { phase: 'recovery', sentAt: 1_100, answeredAt: 1_102, status: 503 },
      { phase: 'recovery', sentAt: 1_150, answeredAt: 1_200, status: 201, finalAt: 1_400 },
      { phase: 'recovery', sentAt: 1_200, answeredAt: 1_240, status: 201, finalAt: 1_450 },
    ];
    const result = summarizeOverload(requests, 1_000, 1_000);
    expect(result).toMatchObject({ offered: 6, offeredPerSecond: 6, accepted: 2, refused: 2, otherStatuses: { '400': 1 }, connectionErrors: 1, acceptedWithoutFinal: 1 });
    expect(result.failures).toEqual({ ECONNRESET: 1 });
    expect(result.refusalReasons).toEqual({ overloaded: 1 });
    expect(result.refusal).toMatchObject({ count: 2, p50: 2, p99: 5 });
    expect(result.acceptance).toMatchObject({ count: 2, p50: 40, p99: 60 });
    expect(result.acceptedToFinal).toMatchObject({ count: 1, p99: 240 });
    expect(result.recovery).toEqual({ offered: 5, accepted: 3, refused: 2, firstAcceptedMs: 100, fullServiceMs: 200 });
  });

  it('says when full service never came back', () => {
    const result = summarizeOverload([{ phase: 'recovery', sentAt: 0, answeredAt: 5, status: 503 }], 0, 1_000);
    expect(result.recovery).toMatchObject({ firstAcceptedMs: null, fullServiceMs: null });
  });
});

describe("the orders service's own timing of its answers", () => {
  it('is read from the histogram buckets counted between two scrapes', () => {
    const scrape = (counts: Record<string, number>) =>
      parseMetrics(
        [
          '# HELP http_request_duration_seconds x',
          '# TYPE http_request_duration_seconds histogram',
          ...Object.entries(counts).map(([le, count]) => `http_request_duration_seconds_bucket{le="${le}",method="POST",route="/v1/orders",status="503"} ${count}`),
          `http_request_duration_seconds_sum{method="POST",route="/v1/orders",status="503"} 1`,
          `http_request_duration_seconds_count{method="POST",route="/v1/orders",status="503"} ${counts['+Inf']}`,
          'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/orders/:id",status="200"} 9',
          'http_request_duration_seconds_sum{method="GET",route="/v1/orders/:id",status="200"} 1',
          'http_request_duration_seconds_count{method="GET",route="/v1/orders/:id",status="200"} 9',
          '',
        ].join('\n'),
      );
    const before = scrape({ '0.001': 10, '0.005': 10, '0.01': 10, '+Inf': 10 });
    const after = scrape({ '0.001': 60, '0.005': 105, '0.01': 109, '+Inf': 110 });
    expect(serverSideLatencies(before, after)).toEqual({ '503': { count: 100, p50AtMostMs: 1, p99AtMostMs: 10 } });
    expect(bucketQuantileMs([], 0.5)).toBeNull();
  });
});
