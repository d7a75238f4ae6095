import type { Order, OrderValidation } from '@ecosystem/avro';
import { describe, expect, it } from 'vitest';
import { OrderFlow, percentile, secondOf, secondsOfWindow, emptyBucket, withOrderRecord, withValidation } from '../src/flow.ts';

const order = (id: string, state: Order['state']): Order => ({ id, customerId: 7, state, product: 'JUMPERS', quantity: 2, price: 10 });
const validation = (orderId: string, checkType: OrderValidation['checkType'], validationResult: OrderValidation['validationResult']): OrderValidation => ({ orderId, checkType, validationResult });

describe('order views', () => {
  it('take the latency from the CREATED record to the arrival of the final record', () => {
    const created = withOrderRecord(undefined, order('a', 'CREATED'), 1_000, 1_020);
    expect(created).toMatchObject({ state: 'CREATED', createdAt: 1_000, customerId: 7 });
    expect(created.latencyMs).toBeUndefined();
    // The final record carries its input's timestamp (the CREATED time): only its arrival tells when it was decided.
    const validated = withOrderRecord(created, order('a', 'VALIDATED'), 1_000, 1_250);
    expect(validated).toMatchObject({ state: 'VALIDATED', createdAt: 1_000, finalAt: 1_250, latencyMs: 250 });
  });

  it('know the latency whichever record arrives first, and a late CREATED does not undo the final state', () => {
    const final = withOrderRecord(undefined, order('a', 'FAILED'), 1_400, 2_000);
    expect(final).toMatchObject({ state: 'FAILED', finalAt: 2_000 });
    expect(final.latencyMs).toBeUndefined();
    expect(withOrderRecord(final, order('a', 'CREATED'), 1_400, 2_010)).toMatchObject({ state: 'FAILED', latencyMs: 600 });
  });

  it('collect the three checks, also before the order itself was seen', () => {
    const first = withValidation(undefined, validation('a', 'FRAUD_CHECK', 'PASS'));
    expect(first).toEqual({ id: 'a', state: 'SEEN', checks: { FRAUD_CHECK: 'PASS' } });
    const second = withValidation(withOrderRecord(first, order('a', 'CREATED'), 5, 6), validation('a', 'INVENTORY_CHECK', 'FAIL'));
    expect(second).toMatchObject({ state: 'CREATED', checks: { FRAUD_CHECK: 'PASS', INVENTORY_CHECK: 'FAIL' } });
  });
});

describe('percentile', () => {
  it('is the nearest rank, or null without values', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([10], 0.99)).toBe(10);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile(Array.from({ length: 100 }, (_, index) => index + 1), 0.99)).toBe(99);
    expect(percentile([1, 2, 3], 1)).toBe(3);
  });
});

describe('seconds of the window', () => {
  it('has one entry per second, oldest first, zeros where nothing happened', () => {
    const buckets = new Map([[secondOf(9_500), { ...emptyBucket(), validated: 2, latenciesMs: [30, 10] }]]);
    const seconds = secondsOfWindow(buckets, 10_200, 3);
    expect(seconds.map((second) => second.at)).toEqual([8_000, 9_000, 10_000]);
    expect(seconds[1]).toEqual({ at: 9_000, created: 0, validated: 2, failed: 0, p50Ms: 10, p99Ms: 30 });
    expect(seconds[2]).toEqual({ at: 10_000, created: 0, validated: 0, failed: 0, p50Ms: null, p99Ms: null });
  });
});

describe('OrderFlow', () => {
  it('counts each order once per state, in the second it arrived', () => {
    const flow = new OrderFlow({ windowSeconds: 5 });
    flow.addOrder(order('a', 'CREATED'), 98_100, 98_100);
    flow.addOrder(order('b', 'CREATED'), 98_200, 98_300);
    flow.addOrder(order('a', 'VALIDATED'), 98_100, 99_300);
    flow.addOrder(order('b', 'FAILED'), 98_200, 99_500);
    // A repeated final record (a replay) is not a second order.
    flow.addOrder(order('b', 'FAILED'), 98_200, 99_700);
    const summary = flow.summary(100_000);
    expect(summary.totals).toEqual({ created: 2, validated: 1, failed: 1 });
    expect(summary.perSecond.map(({ created, validated, failed }) => [created, validated, failed])).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [2, 0, 0],
      [0, 1, 1],
      [0, 0, 0],
    ]);
    expect(summary.latency).toEqual({ count: 2, p50Ms: 1_200, p95Ms: 1_300, p99Ms: 1_300 });
    expect(summary.perSecond[3]).toMatchObject({ p50Ms: 1_200, p99Ms: 1_300 });
  });

  it('forgets seconds that left the window but keeps the totals', () => {
    const flow = new OrderFlow({ windowSeconds: 2 });
    flow.addOrder(order('a', 'CREATED'), 1_000, 1_000);
    flow.addOrder(order('a', 'VALIDATED'), 1_100, 1_100);
    const later = flow.summary(10_000);
    expect(later.totals).toEqual({ created: 1, validated: 1, failed: 0 });
    expect(later.perSecond.every((second) => second.created === 0 && second.validated === 0)).toBe(true);
    expect(later.latency.count).toBe(0);
  });

  it('lists the newest orders first and keeps orders placed through the page while newer ones push others out', () => {
    const flow = new OrderFlow({ capacity: 3, recentCount: 2 });
    flow.addOrder(order('placed', 'CREATED'), 1, 1);
    flow.track('placed');
    for (const id of ['b', 'c', 'd', 'e']) flow.addOrder(order(id, 'CREATED'), 2, 2);
    flow.addValidation(validation('placed', 'ORDER_DETAILS_CHECK', 'PASS'));
    const summary = flow.summary(3);
    expect(summary.recent.map((view) => view.id)).toEqual(['e', 'd']);
    expect(summary.placed).toEqual([expect.objectContaining({ id: 'placed', state: 'CREATED', checks: { ORDER_DETAILS_CHECK: 'PASS' } })]);
  });

  it('shows a placed order the topics have not delivered yet as posted', () => {
    const flow = new OrderFlow();
    flow.track('x');
    expect(flow.summary().placed).toEqual([{ id: 'x', state: 'POSTED', checks: {} }]);
  });
});
