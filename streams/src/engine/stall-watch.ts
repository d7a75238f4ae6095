import type { RuntimeLogger } from './logger.ts';

/** A part of the instance that may stop making progress: since when it has not, and what it is doing. */
export interface StallProbe {
  name: string;
  /** Undefined while the part makes progress; else since when it has not, with what describes its state. */
  check(now: number): { since: number; details: Record<string, unknown> } | undefined;
  /** What to try once the stall is reported (e.g. send the fetch that nothing sent). */
  repair?(): void;
}

export interface StallWatchOptions {
  probes: readonly StallProbe[];
  logger: RuntimeLogger;
  /** A part without progress for this long is reported (default 15 s). */
  thresholdMs?: number;
  /** How often the probes are asked (default 5 s). */
  intervalMs?: number;
}

/**
 * Reports parts of an instance that stopped making progress while they had work: the stream
 * thread stuck in one step, records waiting that nothing processes, partitions that nothing
 * fetches. Every wait in the runtime has a bound far below the threshold (the task idle time,
 * the commit interval, request timeouts, backoffs), so a report means a defect or a cluster
 * that does not answer, and its details say where: without it, such a stall shows only as
 * latency, with quiet logs and an idle process. One warning per stall, and a note when it ends.
 */
export class StallWatch {
  private timer: NodeJS.Timeout | undefined;
  /** Per probe, the start of the stall already reported. */
  private readonly reported = new Map<string, number>();

  constructor(private readonly options: StallWatchOptions) {}

  start(): void {
    this.timer ??= setInterval(() => this.check(Date.now()), this.options.intervalMs ?? 5_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Asks every probe once (the timer calls it; tests call it with their own clock). */
  check(now: number): void {
    const thresholdMs = this.options.thresholdMs ?? 15_000;
    for (const probe of this.options.probes) {
      const stall = probe.check(now);
      const reported = this.reported.get(probe.name);
      if (!stall) {
        if (reported !== undefined) {
          this.reported.delete(probe.name);
          this.options.logger.info({ part: probe.name, stalledSeconds: Math.round((now - reported) / 1_000) }, 'progress again after a stall');
        }
        continue;
      }
      if (now - stall.since < thresholdMs || reported === stall.since) continue;
      this.reported.set(probe.name, stall.since);
      this.options.logger.warn({ part: probe.name, stalledSeconds: Math.round((now - stall.since) / 1_000), ...stall.details }, `no progress in the ${probe.name}`);
      probe.repair?.();
    }
  }
}

/** The parts of an instance the watch asks (structural, so the watch imports none of them). */
export interface WatchedInstance {
  thread: { readonly currentStep: { name: string; since: number }; readonly lastProcessed: number };
  taskManager: { readonly bufferedRecords: Record<string, number> };
  fetcher: { stall(now: number): { since: number; details: Record<string, unknown> } | undefined; wake(): void };
}

/** The probes of an instance: its stream thread's step, its buffered records, its fetcher. */
export function instanceProbes({ thread, taskManager, fetcher }: WatchedInstance): StallProbe[] {
  let bufferedSince: number | undefined;
  return [
    {
      name: 'stream thread',
      check: () => (thread.currentStep.name === 'waiting' ? undefined : { since: thread.currentStep.since, details: { step: thread.currentStep.name } }),
    },
    {
      name: 'processing of fetched records',
      check: (now) => {
        const buffered = taskManager.bufferedRecords;
        if (Object.keys(buffered).length === 0) {
          bufferedSince = undefined;
          return undefined;
        }
        bufferedSince ??= now;
        return { since: Math.max(bufferedSince, thread.lastProcessed), details: { bufferedRecords: buffered, step: thread.currentStep.name } };
      },
    },
    { name: 'fetcher', check: (now) => fetcher.stall(now), repair: () => fetcher.wake() },
  ];
}
