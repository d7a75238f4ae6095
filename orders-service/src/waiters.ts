import type { Order } from '@ecosystem/avro';

interface Waiter {
  accepts: (order: Order) => boolean;
  resolve: (order: Order | undefined) => void;
}

/**
 * Long-poll requests waiting for an order to appear (or reach a state). The orders table
 * notifies every change; a waiter leaves on its first match, on its timeout, or when its
 * client goes away, so nothing accumulates.
 */
export class OrderWaiters {
  private readonly waiting = new Map<string, Set<Waiter>>();

  get size(): number {
    let count = 0;
    for (const waiters of this.waiting.values()) count += waiters.size;
    return count;
  }

  /** Resolves with the first version of the order that `accepts`, or undefined after `ms` or on abort. */
  waitFor(id: string, accepts: (order: Order) => boolean, ms: number, signal?: AbortSignal): Promise<Order | undefined> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(id) ?? new Set<Waiter>();
      this.waiting.set(id, waiters);
      const finish = (order: Order | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(waiter);
        if (waiters.size === 0 && this.waiting.get(id) === waiters) this.waiting.delete(id);
        resolve(order);
      };
      const waiter: Waiter = { accepts, resolve: finish };
      const onAbort = () => finish(undefined);
      const timer = setTimeout(() => finish(undefined), Math.max(0, ms));
      waiters.add(waiter);
      if (signal?.aborted) finish(undefined);
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  notify(id: string, order: Order): void {
    const waiters = this.waiting.get(id);
    if (!waiters) return;
    for (const waiter of [...waiters]) if (waiter.accepts(order)) waiter.resolve(order);
  }
}
