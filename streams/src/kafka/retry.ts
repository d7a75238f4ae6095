/**
 * The one retry helper of the project: exponential backoff, a predicate saying which failures
 * pass by themselves, an optional deadline and an abort signal (a stopping service must not
 * sit out a long backoff).
 */
export interface RetryOptions {
  /** Which failures are worth another attempt (default: all). Others are thrown at once. */
  retriable?: (error: unknown) => boolean;
  /** Delay before the first retry (default 100 ms); it doubles up to `maxDelayMs`. */
  initialDelayMs?: number;
  /** Longest delay between attempts (default 5 s). */
  maxDelayMs?: number;
  /** Give up (throwing the last failure) once this much time has passed (default: never). */
  timeoutMs?: number;
  /** Give up after this many attempts in all (default: no limit). */
  attempts?: number;
  /** Stops retrying: the last failure is thrown. */
  signal?: AbortSignal;
  /** Told before each wait, e.g. to log "retrying". */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export interface BackoffOptions {
  /** Delay before the first retry (default 100 ms). */
  initialMs?: number;
  /** Longest delay (default 5 s). */
  maxMs?: number;
}

/** The delay before retry number `attempt` (1-based): `initialMs`, doubling, never above `maxMs`. */
export function backoffDelay(attempt: number, { initialMs = 100, maxMs = 5_000 }: BackoffOptions = {}): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(maxMs, initialMs * 2 ** Math.min(exponent, 30));
}

/** Waits `ms`, or less when `signal` aborts. */
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

/** Runs `operation` until it succeeds, a failure is not retriable, or the limits are reached. */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { retriable = () => true, initialDelayMs = 100, maxDelayMs = 5_000, timeoutMs, attempts, signal, onRetry } = options;
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      const delay = backoffDelay(attempt, { initialMs: initialDelayMs, maxMs: maxDelayMs });
      const exhausted = (attempts !== undefined && attempt >= attempts) || Date.now() + delay > deadline || signal?.aborted === true;
      if (exhausted || !retriable(error)) throw error;
      onRetry?.(error, attempt, delay);
      await sleep(delay, signal);
      if (signal?.aborted) throw error;
    }
  }
}

export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return `${error.message} (${error.errors.map(describeError).join('; ')})`;
  return error instanceof Error ? error.message : String(error);
}
