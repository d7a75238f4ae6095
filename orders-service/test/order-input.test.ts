import { describe, expect, it } from 'vitest';
import { parseOrderInput } from '../src/order-input.ts';

describe('parseOrderInput', () => {
  it('accepts a minimal order and makes it CREATED', () => {
    expect(parseOrderInput({ customerId: 5, product: 'JUMPERS', quantity: 2, price: 3.5 })).toEqual({
      ok: true,
      order: { customerId: 5, product: 'JUMPERS', quantity: 2, price: 3.5, state: 'CREATED' },
    });
  });

  it('keeps a given id and an explicit CREATED state', () => {
    const result = parseOrderInput({ id: 'order-1', customerId: 0, product: 'STOCKINGS', quantity: 1, price: 1, state: 'CREATED' });
    expect(result).toEqual({ ok: true, order: { id: 'order-1', customerId: 0, product: 'STOCKINGS', quantity: 1, price: 1, state: 'CREATED' } });
  });

  it('leaves business rules to the validators: negative quantity and price pass', () => {
    expect(parseOrderInput({ customerId: 1, product: 'JUMPERS', quantity: -1, price: -2 }).ok).toBe(true);
  });

  it('names every field at fault at once', () => {
    const result = parseOrderInput({ customerId: -1, product: 'HATS', quantity: 1.5, price: 'free', state: 'FAILED', colour: 'red' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.fields).sort()).toEqual(['colour', 'customerId', 'price', 'product', 'quantity', 'state']);
    expect(result.fields.colour).toBe('unknown field');
    expect(result.fields.product).toMatch(/JUMPERS, UNDERPANTS, STOCKINGS/);
  });

  it('refuses what is not an object, ids with odd characters, and quantities beyond int32', () => {
    expect(parseOrderInput([1])).toEqual({ ok: false, fields: { body: 'expected a JSON object' } });
    expect(parseOrderInput(null)).toEqual({ ok: false, fields: { body: 'expected a JSON object' } });
    expect(parseOrderInput({ id: 'a b', customerId: 1, product: 'JUMPERS', quantity: 1, price: 1 })).toMatchObject({ ok: false, fields: { id: expect.any(String) } });
    expect(parseOrderInput({ customerId: 1, product: 'JUMPERS', quantity: 2 ** 31, price: 1 })).toMatchObject({ ok: false, fields: { quantity: 'out of range' } });
  });
});
