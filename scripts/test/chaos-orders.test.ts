import { describe, expect, it } from 'vitest';
import { chaosOrders, expectedPairStates, expectedState, isPairOrder } from '../chaos/orders.ts';

describe('the chaos soak orders', () => {
  const orders = Array.from({ length: 2_000 }, (_, index) => index).map(chaosOrders(42, 5_000));

  it('are the same for the same seed, each for a customer of its own', () => {
    expect(Array.from({ length: 2_000 }, (_, index) => index).map(chaosOrders(42, 5_000))).toEqual(orders);
    const pairOrders = orders.filter(isPairOrder);
    expect(new Set(orders.map((order) => order.customerId)).size).toBe(orders.length - pairOrders.length / 2);
  });

  it('have pairs: two orders of one customer in a row, one VALIDATED and one FAILED in either order', () => {
    const pairs = orders.flatMap((order, index) => (isPairOrder(order) && orders[index + 1]?.customerId === order.customerId ? [[order, orders[index + 1]!] as const] : []));
    expect(pairs.length * 2).toBe(orders.filter(isPairOrder).length);
    expect(pairs.length).toBeGreaterThan(50);
    for (const [first, second] of pairs) {
      expect(expectedPairStates(first, second)).toEqual(['VALIDATED', 'FAILED']);
      expect(expectedPairStates(second, first)).toEqual(['VALIDATED', 'FAILED']);
    }
  });

  it('validate when everyday, and fail over the fraud threshold, for the sold-out product or a quantity under 1', () => {
    expect(expectedState({ customerId: 1, product: 'JUMPERS', quantity: 3, price: 10 })).toBe('VALIDATED');
    expect(expectedState({ customerId: 1, product: 'JUMPERS', quantity: 2, price: 1_000 })).toBe('FAILED');
    expect(expectedState({ customerId: 1, product: 'JUMPERS', quantity: 2, price: 999 })).toBe('VALIDATED');
    expect(expectedState({ customerId: 1, product: 'STOCKINGS', quantity: 1, price: 1 })).toBe('FAILED');
    expect(expectedState({ customerId: 1, product: 'UNDERPANTS', quantity: 0, price: 1 })).toBe('FAILED');
  });

  it('are a mix of mostly VALIDATED and some FAILED', () => {
    const singles = orders.filter((order) => !isPairOrder(order));
    const validated = singles.filter((order) => expectedState(order) === 'VALIDATED').length;
    expect(validated / singles.length).toBeGreaterThan(0.8);
    expect(validated / singles.length).toBeLessThan(0.9);
  });
});
