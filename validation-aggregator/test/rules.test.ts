import type { Order, OrderValidation } from '@ecosystem/avro';
import { describe, expect, it } from 'vitest';
import { decide, noChecks, recordOrder, recordResult, type OrderChecks } from '../src/rules.ts';

const order: Order = { id: 'o1', customerId: 1, product: 'JUMPERS', quantity: 1, price: 1, state: 'CREATED' };
const result = (checkType: OrderValidation['checkType'], validationResult: OrderValidation['validationResult']): OrderValidation => ({ orderId: 'o1', checkType, validationResult });
const fold = (events: Array<Order | OrderValidation>): OrderChecks =>
  events.reduce<OrderChecks>((checks, event) => ('checkType' in event ? recordResult(checks, event) : recordOrder(checks, event)), noChecks);

describe('deciding an order', () => {
  it('validates once all three distinct checks passed', () => {
    expect(decide(fold([order, result('INVENTORY_CHECK', 'PASS'), result('FRAUD_CHECK', 'PASS')]))).toBeUndefined();
    expect(decide(fold([order, result('INVENTORY_CHECK', 'PASS'), result('FRAUD_CHECK', 'PASS'), result('ORDER_DETAILS_CHECK', 'PASS')]))).toBe('VALIDATED');
  });

  it('never validates on duplicate PASSes of the same check', () => {
    const checks = fold([order, result('INVENTORY_CHECK', 'PASS'), result('INVENTORY_CHECK', 'PASS'), result('INVENTORY_CHECK', 'PASS')]);
    expect(decide(checks)).toBeUndefined();
  });

  it('fails at the first FAIL or ERROR', () => {
    expect(decide(fold([order, result('FRAUD_CHECK', 'FAIL')]))).toBe('FAILED');
    expect(decide(fold([order, result('INVENTORY_CHECK', 'PASS'), result('ORDER_DETAILS_CHECK', 'ERROR')]))).toBe('FAILED');
  });

  it('waits for the order itself when results come first', () => {
    const resultsOnly = fold([result('INVENTORY_CHECK', 'PASS'), result('FRAUD_CHECK', 'PASS'), result('ORDER_DETAILS_CHECK', 'PASS')]);
    expect(decide(resultsOnly)).toBeUndefined();
    expect(decide(recordOrder(resultsOnly, order))).toBe('VALIDATED');
  });

  it('ignores everything once decided, so an order never gets a second final state', () => {
    const decided: OrderChecks = { results: {}, decided: 'FAILED' };
    expect(recordResult(decided, result('INVENTORY_CHECK', 'PASS'))).toBe(decided);
    expect(recordOrder(decided, order)).toBe(decided);
    expect(decide(decided)).toBeUndefined();
  });

  it('keeps the first result of a check type', () => {
    expect(decide(fold([order, result('FRAUD_CHECK', 'PASS'), result('FRAUD_CHECK', 'FAIL')]))).toBeUndefined();
  });
});
