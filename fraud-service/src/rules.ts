import type { Order, OrderValidationResult, OrderValue } from '@ecosystem/avro';

/** What an order adds to its customer's running total. */
export function orderValue(order: Order): OrderValue {
  return { order, value: order.quantity * order.price };
}

/** Adds a newer order's value to the session total; the newer order is the one the total now speaks for. */
export function addToTotal(total: OrderValue, next: OrderValue): OrderValue {
  return { order: next.order, value: total.value + next.value };
}

/** A customer whose orders in one session reach the threshold is suspicious: that order and every later one fail. */
export function fraudVerdict(sessionTotal: number, threshold: number): OrderValidationResult {
  return sessionTotal >= threshold ? 'FAIL' : 'PASS';
}
