import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { generatedTypesFile, renderTypeScriptTypes } from '../scripts/typescript-types.ts';
import type { Customer, Order, OrderState } from '../src/index.ts';
import { customerDefaults, orderStateSymbols, productSymbols, readSchemaModel } from '../src/index.ts';
import { buildSchemaModel } from '../src/schema-model.ts';

describe('generated TypeScript types', () => {
  it('are up to date with the .avsc files (run `npm run generate:avro` if this fails)', () => {
    expect(readFileSync(generatedTypesFile, 'utf8')).toBe(renderTypeScriptTypes(readSchemaModel()));
  });

  it('expose enum symbols and record defaults from the schemas', () => {
    expect(orderStateSymbols).toEqual(['CREATED', 'VALIDATED', 'FAILED', 'SHIPPED']);
    expect(productSymbols).toEqual(['JUMPERS', 'UNDERPANTS', 'STOCKINGS']);
    expect(customerDefaults).toEqual({ level: 'bronze' });
    expectTypeOf<OrderState>().toEqualTypeOf<'CREATED' | 'VALIDATED' | 'FAILED' | 'SHIPPED'>();
    expectTypeOf<Order['customerId']>().toEqualTypeOf<number>();
    expectTypeOf<Customer['level']>().toEqualTypeOf<string>();
  });

  it('map arrays, maps, nullable unions, bytes and fixed', () => {
    const model = buildSchemaModel([
      { source: 'Hash.avsc', json: { type: 'fixed', name: 'Hash', size: 16 } },
      {
        source: 'Bag.avsc',
        json: {
          type: 'record',
          name: 'Bag',
          fields: [
            { name: 'tags', type: { type: 'array', items: 'string' } },
            { name: 'counts', type: { type: 'map', values: 'int' } },
            { name: 'note', type: ['null', 'string'], default: null },
            { name: 'maybe', type: { type: 'array', items: ['null', 'Hash'] } },
            { name: 'raw', type: 'bytes', default: '' },
            { name: 'flag', type: 'boolean', default: true },
          ],
        },
      },
    ]);
    const source = renderTypeScriptTypes(model);
    expect(source).toContain('export type Hash = Buffer;');
    expect(source).toContain('  tags: string[];');
    expect(source).toContain('  counts: Record<string, number>;');
    expect(source).toContain('  note: null | string;');
    expect(source).toContain('  maybe: (null | Hash)[];');
    expect(source).toContain('  raw: Buffer;');
    expect(source).toContain('export const bagDefaults = { note: null, flag: true } as const satisfies Partial<Bag>;');
  });

  it('refuses unions that avsc would decode wrapped', () => {
    const model = buildSchemaModel([
      { source: 'U.avsc', json: { type: 'record', name: 'U', fields: [{ name: 'x', type: ['string', 'int'] }] } },
    ]);
    expect(() => renderTypeScriptTypes(model)).toThrow('more than one non-null branch');
  });
});
