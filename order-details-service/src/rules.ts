import { productSymbols, type Order, type OrderValidationResult } from '@ecosystem/avro';

export interface OrderDetailsVerdict {
  result: OrderValidationResult;
  problems: string[];
}

/** An order's details are valid when it asks for a positive quantity of a known product at a positive price, for a real customer. */
export function checkOrderDetails(order: Order): OrderDetailsVerdict {
  const problems: string[] = [];
  if (!(order.quantity > 0)) problems.push(`quantity must be positive, got ${order.quantity}`);
  if (!(order.price > 0)) problems.push(`price must be positive, got ${order.price}`);
  if (!(productSymbols as readonly string[]).includes(order.product)) problems.push(`unknown product ${order.product}`);
  if (!(order.customerId >= 0)) problems.push(`customerId must not be negative, got ${order.customerId}`);
  return { result: problems.length === 0 ? 'PASS' : 'FAIL', problems };
}
