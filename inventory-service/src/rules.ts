import type { OrderValidationResult } from '@ecosystem/avro';

export interface StockDecision {
  result: OrderValidationResult;
  /** Units reserved for the product after the decision. */
  reserved: number;
}

/**
 * An order passes when the warehouse can still cover it: stock minus what earlier orders
 * reserved. Passing reserves its quantity. A product with no stock row has stock 0, and a
 * quantity that is not positive reserves nothing and fails (it would un-reserve stock).
 */
export function reserveStock(stock: number | undefined, reserved: number, quantity: number): StockDecision {
  if (!(quantity > 0)) return { result: 'FAIL', reserved };
  const available = (stock ?? 0) - reserved;
  return available >= quantity ? { result: 'PASS', reserved: reserved + quantity } : { result: 'FAIL', reserved };
}

/** A failed order gives its reservation back. */
export function releaseStock(reserved: number, quantity: number): number {
  return Math.max(0, reserved - quantity);
}
