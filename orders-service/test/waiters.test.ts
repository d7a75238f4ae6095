import type { Order } from '@ecosystem/avro';
import { describe, expect, it } from 'vitest';
import { OrderWaiters } from '../src/waiters.ts';

const order = (state: Order['state']): Order => ({ id: 'o1', customerId: 1, product: 'JUMPERS', quantity: 1, price: 1, state });

describe('OrderWaiters', () => {
  it('resolves waiters whose condition the change meets, and only those', async () => {
    const waiters = new OrderWaiters();
    const any = waiters.waitFor('o1', () => true, 1_000);
    const final = waiters.waitFor('o1', (candidate) => candidate.state !== 'CREATED', 1_000);
    waiters.notify('o1', order('CREATED'));
    expect(await any).toEqual(order('CREATED'));
    expect(waiters.size).toBe(1);
    waiters.notify('o2', order('VALIDATED'));
    waiters.notify('o1', order('VALIDATED'));
    expect(await final).toEqual(order('VALIDATED'));
    expect(waiters.size).toBe(0);
  });

  it('gives up after the timeout and on abort, leaving nothing behind', async () => {
    const waiters = new OrderWaiters();
    const controller = new AbortController();
    const timedOut = waiters.waitFor('o1', () => true, 10);
    const aborted = waiters.waitFor('o1', () => true, 60_000, controller.signal);
    expect(waiters.size).toBe(2);
    controller.abort();
    expect(await aborted).toBeUndefined();
    expect(await timedOut).toBeUndefined();
    expect(waiters.size).toBe(0);
  });
});
