import type { Order } from '@ecosystem/avro';
import { describe, expect, it } from 'vitest';
import { checkOrderDetails } from '../src/rules.ts';

const order = (changes: Partial<Order>): Order => ({ id: 'o', customerId: 1, product: 'JUMPERS', quantity: 1, price: 1, state: 'CREATED', ...changes });

describe('checkOrderDetails', () => {
  it('passes a well-formed order', () => {
    expect(checkOrderDetails(order({}))).toEqual({ result: 'PASS', problems: [] });
    expect(checkOrderDetails(order({ customerId: 0 })).result).toBe('PASS');
  });

  it.each([
    [{ quantity: -1 }, /quantity/],
    [{ quantity: 0 }, /quantity/],
    [{ price: 0 }, /price/],
    [{ price: -3 }, /price/],
    [{ customerId: -1 }, /customerId/],
    [{ product: 'HATS' as Order['product'] }, /unknown product HATS/],
  ])('fails %o', (changes, problem) => {
    const verdict = checkOrderDetails(order(changes));
    expect(verdict.result).toBe('FAIL');
    expect(verdict.problems.join('; ')).toMatch(problem);
  });
});
