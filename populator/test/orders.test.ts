import { describe, expect, it } from 'vitest';
import { defaultMix, generateOrder, parseCustomers, parseProducts } from '../src/orders.ts';

function sequence(values: number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length]!;
}

describe('generated orders', () => {
  it('draws customer, product, quantity and price from the mix', () => {
    // Draws in order: big spender?, customer, product, quantity, price.
    const order = generateOrder(defaultMix, sequence([0.5, 0.5, 0.99, 0.5, 0.5]));
    expect(order).toEqual({ customerId: 5, product: 'STOCKINGS', quantity: 2, price: 5.5 });
  });

  it('gives every big-spender order to the last customer, and none of the others', () => {
    const big = generateOrder({ ...defaultMix, bigSpenderShare: 1 }, sequence([0.1, 0.1, 0.5, 0.5, 0.5]));
    expect(big.price).toBeGreaterThanOrEqual(1_000);
    expect(big.customerId).toBe(9);
    const everyday = Array.from({ length: 200 }, (_, index) => generateOrder({ ...defaultMix, bigSpenderShare: 0 }, sequence([0.5, index / 200, 0.3, 0.3, 0.3])));
    expect(new Set(everyday.map((order) => order.customerId))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(Math.max(...everyday.map((order) => order.price))).toBeLessThan(10);
  });

  it('parses customer ranges and lists, and refuses nonsense', () => {
    expect(parseCustomers('1-3')).toEqual([1, 2, 3]);
    expect(parseCustomers('4, 7')).toEqual([4, 7]);
    expect(() => parseCustomers('a-b')).toThrow(/range like 1-9/);
    expect(() => parseCustomers('5-1')).toThrow(/empty/);
  });

  it('parses products case-insensitively and names unknown ones', () => {
    expect(parseProducts('jumpers,STOCKINGS')).toEqual(['JUMPERS', 'STOCKINGS']);
    expect(() => parseProducts('JUMPERS,HATS')).toThrow(/unknown products HATS/);
  });
});
