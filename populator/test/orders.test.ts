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

  it('makes a share of big spenders', () => {
    const big = generateOrder({ ...defaultMix, bigSpenderShare: 1 }, sequence([0.1, 0.1, 0.5, 0.5, 0.5]));
    expect(big.price).toBeGreaterThanOrEqual(1_000);
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
