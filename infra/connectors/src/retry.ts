export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

/** Exponential backoff: `initialMs` before the first retry, doubling, never above `maxMs`. */
export function backoffDelay(attempt: number, { initialMs = 200, maxMs = 30_000 }: BackoffOptions = {}): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(maxMs, initialMs * 2 ** Math.min(exponent, 30));
}

/** Waits `ms`, or less when `signal` aborts (a stopping worker must not sit out a long backoff). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
