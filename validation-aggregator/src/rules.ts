import { orderValidationTypeSymbols, type Order, type OrderValidation, type OrderValidationResult, type OrderValidationType } from '@ecosystem/avro';

export type FinalState = 'VALIDATED' | 'FAILED';

/** What the aggregator remembers of one order. */
export interface OrderChecks {
  order?: Order;
  results: Partial<Record<OrderValidationType, OrderValidationResult>>;
  /** Set once the final state was written: an order is decided exactly once. */
  decided?: FinalState;
  /** Wall-clock time the aggregator first heard of the order (its time limit counts from there). */
  since?: number;
  /** Wall-clock time of the decision (its retention counts from there). */
  decidedAt?: number;
}

export const noChecks: OrderChecks = { results: {} };

/** Records a check's result; a later result of the same check type does not replace the first. */
export function recordResult(checks: OrderChecks, validation: OrderValidation): OrderChecks {
  if (checks.decided || checks.results[validation.checkType] !== undefined) return checks;
  return { ...checks, results: { ...checks.results, [validation.checkType]: validation.validationResult } };
}

export function recordOrder(checks: OrderChecks, order: Order): OrderChecks {
  return checks.decided || checks.order ? checks : { ...checks, order };
}

/**
 * The final state once it can be decided: FAILED at the first FAIL (or ERROR) of any check,
 * VALIDATED when every distinct check type has passed. Counting distinct types, not
 * records, means duplicate PASSes can never validate an order. Nothing is decided before
 * the order itself is known (the final record carries the whole order).
 */
export function decide(checks: OrderChecks): FinalState | undefined {
  if (checks.decided || !checks.order) return undefined;
  const results = Object.values(checks.results);
  if (results.some((result) => result !== 'PASS')) return 'FAILED';
  return orderValidationTypeSymbols.every((type) => checks.results[type] === 'PASS') ? 'VALIDATED' : undefined;
}

/** The check types an order is still waiting for. */
export function missingChecks(checks: OrderChecks): OrderValidationType[] {
  return orderValidationTypeSymbols.filter((type) => checks.results[type] === undefined);
}

/** Why an order that ran out of time is FAILED, for the final record's `reason` header. */
export function timeoutReason(checks: OrderChecks, timeoutMs: number): string {
  const missing = missingChecks(checks);
  return `no ${missing.join(', ')} within ${Math.round(timeoutMs / 1_000)} s`;
}
