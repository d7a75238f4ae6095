import { describe, expect, it } from 'vitest';
import { summarizeOverload, type OverloadRequest } from '../bench/overload.ts';

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
