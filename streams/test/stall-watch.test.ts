import { describe, expect, it } from 'vitest';
import type { BrokerConnections } from '../src/kafka/broker-connections.ts';
import { Fetcher } from '../src/kafka/fetcher.ts';
import { instanceProbes, StallWatch, type StallProbe } from '../src/engine/stall-watch.ts';

function recordingLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: object, message: string) => lines.push({ level, fields: fields as Record<string, unknown>, message });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('StallWatch', () => {
  it('warns once per stall past the threshold, repairs, and notes when progress resumes', () => {
    const { lines, logger } = recordingLogger();
    let stall: { since: number; details: Record<string, unknown> } | undefined = { since: 1_000, details: { step: 'committing' } };
    let repairs = 0;
    const probe: StallProbe = { name: 'stream thread', check: () => stall, repair: () => (repairs += 1) };
    const watch = new StallWatch({ probes: [probe], logger, thresholdMs: 15_000 });

    watch.check(15_999);
    expect(lines).toEqual([]);
    watch.check(16_000);
    watch.check(21_000);
    expect(lines).toEqual([{ level: 'warn', fields: { part: 'stream thread', stalledSeconds: 15, step: 'committing' }, message: 'no progress in the stream thread' }]);
    expect(repairs).toBe(1);

    stall = undefined;
    watch.check(26_000);
    expect(lines[1]).toEqual({ level: 'info', fields: { part: 'stream thread', stalledSeconds: 25 }, message: 'progress again after a stall' });

    stall = { since: 30_000, details: {} };
    watch.check(46_000);
    expect(lines.filter((line) => line.level === 'warn')).toHaveLength(2);
  });
});

describe('instanceProbes', () => {
  const probe = (probes: StallProbe[], name: string) => probes.find((candidate) => candidate.name === name)!;

  it('reports a thread step other than waiting, and buffered records that nothing processes', () => {
    const thread = { currentStep: { name: 'committing', since: 5_000 }, lastProcessed: 2_000 };
    let buffered: Record<string, number> = {};
    const fetcher = { stall: () => undefined, wake: () => undefined };
    const probes = instanceProbes({ thread, taskManager: { get bufferedRecords() { return buffered; } }, fetcher });

    expect(probe(probes, 'stream thread').check(9_000)).toEqual({ since: 5_000, details: { step: 'committing' } });
    thread.currentStep = { name: 'waiting', since: 9_000 };
    expect(probe(probes, 'stream thread').check(9_500)).toBeUndefined();

    const processing = probe(probes, 'processing of fetched records');
    expect(processing.check(10_000)).toBeUndefined();
    buffered = { '1_0': 40 };
    // Records that arrived after the last processed one count from their arrival.
    expect(processing.check(12_000)).toEqual({ since: 12_000, details: { bufferedRecords: { '1_0': 40 }, step: 'waiting' } });
    expect(processing.check(30_000)?.since).toBe(12_000);
    thread.lastProcessed = 31_000;
    expect(processing.check(32_000)?.since).toBe(31_000);
    buffered = {};
    expect(processing.check(33_000)).toBeUndefined();
  });
});

describe('Fetcher.stall', () => {
  /** Connections whose answers the test releases by hand (none, here): a request stays out. */
  function connections(metadataAnswers: boolean): BrokerConnections {
    const never = new Promise<never>(() => undefined);
    return {
      metadata: () => (metadataAnswers ? Promise.resolve(new Map([['orders', { name: 'orders', id: 'id-orders', partitions: [{ leader: 1, leaderEpoch: 0 }] }]])) : never),
      choose: () => Promise.resolve({}),
      request: () => never,
      forgetLeaders: () => undefined,
    } as unknown as BrokerConnections;
  }

  it('reports a fetch out far beyond its max wait, naming the leader', async () => {
    const fetcher = new Fetcher({ connections: connections(true), role: 'fetch', readCommitted: true, onFetched: () => undefined, logger: recordingLogger().logger, maxWaitMs: 500 });
    const before = Date.now();
    fetcher.assign('orders', 0, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stall = fetcher.stall(Date.now() + 10_000)!;
    expect(stall.details).toEqual({ waitingForLeader: 1 });
    expect(stall.since).toBeGreaterThanOrEqual(before + 500);
    expect(fetcher.stall(Date.now())).toBeUndefined();
    fetcher.close();
  });

  it('reports partitions that wait with no request out, and none once they are paused', () => {
    const fetcher = new Fetcher({ connections: connections(false), role: 'fetch', readCommitted: true, onFetched: () => undefined, logger: recordingLogger().logger });
    fetcher.assign('orders', 0, 42);
    expect(fetcher.stall(Date.now() + 20_000)?.details).toEqual({ unfetched: ['orders-0@42'] });
    fetcher.pause('orders', 0);
    expect(fetcher.stall(Date.now() + 20_000)).toBeUndefined();
    fetcher.close();
  });
});
