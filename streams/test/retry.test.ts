import { describe, expect, it } from 'vitest';
import { backoffDelay, retry, sleep } from '../src/kafka/retry.ts';

class Transient extends Error {}

describe('backoffDelay', () => {
  it('doubles from the first delay up to a ceiling', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(50)).toBe(5_000);
    expect([1, 2, 3].map((attempt) => backoffDelay(attempt, { initialMs: 200, maxMs: 30_000 }))).toEqual([200, 400, 800]);
    expect(backoffDelay(3, { initialMs: 10, maxMs: 25 })).toBe(25);
  });
});

describe('sleep', () => {
  it('is cut short when its signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await waiting;
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('retry', () => {
  it('retries retriable failures until the operation succeeds, telling each retry', async () => {
    const retries: number[] = [];
    const result = await retry(
      async (attempt) => {
        if (attempt < 3) throw new Transient(`attempt ${attempt}`);
        return attempt;
      },
      { retriable: (error) => error instanceof Transient, initialDelayMs: 1, onRetry: (_error, attempt) => retries.push(attempt) },
    );
    expect(result).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('throws a failure that is not retriable at once', async () => {
    let calls = 0;
    const failing = retry(
      async () => {
        calls += 1;
        throw new Error('for good');
      },
      { retriable: (error) => error instanceof Transient, initialDelayMs: 1 },
    );
    await expect(failing).rejects.toThrow('for good');
    expect(calls).toBe(1);
  });

  it('gives up after the attempts it is allowed, throwing the last failure', async () => {
    let calls = 0;
    const failing = retry(
      async () => {
        calls += 1;
        throw new Transient(`failure ${calls}`);
      },
      { attempts: 4, initialDelayMs: 1 },
    );
    await expect(failing).rejects.toThrow('failure 4');
    expect(calls).toBe(4);
  });

  it('stops waiting and throws the last failure when its signal aborts', async () => {
    const controller = new AbortController();
    let calls = 0;
    const failing = retry(
      async () => {
        calls += 1;
        throw new Transient(`failure ${calls}`);
      },
      { initialDelayMs: 60_000, signal: controller.signal },
    );
    // The first wait is a minute long: only the abort ends it early, and no second attempt runs.
    setTimeout(() => controller.abort(), 50);
    await expect(failing).rejects.toThrow('failure 1');
    expect(calls).toBe(1);
  });
});
