import type { Order } from '@ecosystem/avro';
import { describe, expect, it } from 'vitest';
import { addToTotal, fraudVerdict, orderValue } from '../src/rules.ts';

const order = (id: string, quantity: number, price: number): Order => ({ id, customerId: 1, product: 'JUMPERS', quantity, price, state: 'CREATED' });

describe('fraud rules', () => {
  it('values an order at quantity times price', () => {
    expect(orderValue(order('a', 3, 2.5))).toEqual({ order: order('a', 3, 2.5), value: 7.5 });
  });

  it('adds to the running total on behalf of the newer order', () => {
    expect(addToTotal(orderValue(order('a', 1, 1000)), orderValue(order('b', 1, 900)))).toEqual({ order: order('b', 1, 900), value: 1900 });
  });

  it('fails at the threshold and above', () => {
    expect(fraudVerdict(1999.99, 2000)).toBe('PASS');
    expect(fraudVerdict(2000, 2000)).toBe('FAIL');
    expect(fraudVerdict(2100, 2000)).toBe('FAIL');
  });
});
