import { productSymbols, type Order } from '@ecosystem/avro';
import { z } from 'zod';

const int32 = { min: -2_147_483_648, max: 2_147_483_647 };

/**
 * The body of POST /v1/orders. Only the shape is checked here: business rules (positive
 * quantity, positive price) are the validators' job, so a negative quantity is accepted
 * and later FAILs the order-details check. Unknown fields are refused.
 */
export const orderInput = z
  .object({
    id: z.string().min(1, 'must not be empty').max(128, 'at most 128 characters').regex(/^[\w.:-]+$/, 'letters, digits and . _ : - only').optional(),
    customerId: z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER, 'too large'),
    product: z.enum(productSymbols, { error: `must be one of ${productSymbols.join(', ')}` }),
    quantity: z.number({ error: 'must be a number' }).int('must be an integer').min(int32.min, 'out of range').max(int32.max, 'out of range'),
    price: z.number({ error: 'must be a number' }).refine(Number.isFinite, 'must be a finite number'),
    state: z.literal('CREATED', { error: 'a new order can only be CREATED' }).optional(),
  })
  .strict()
  .describe('A new order. Unknown fields are refused; a missing id is generated.');

export type OrderInput = z.infer<typeof orderInput>;

export type ParseResult = { ok: true; order: Omit<Order, 'id'> & { id?: string } } | { ok: false; fields: Record<string, string> };

/** Turns a parsed JSON body into an order, or names every field at fault. */
export function parseOrderInput(body: unknown): ParseResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, fields: { body: 'expected a JSON object' } };
  const result = orderInput.safeParse(body);
  if (!result.success) {
    // No prototype: a field named `__proto__` must be reported like any other.
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') for (const key of issue.keys) fields[key] = 'unknown field';
      else fields[issue.path.join('.') || 'body'] ??= issue.message;
    }
    return { ok: false, fields: { ...fields } };
  }
  const { id, customerId, product, quantity, price } = result.data;
  return { ok: true, order: { ...(id !== undefined ? { id } : {}), customerId, product, quantity, price, state: 'CREATED' } };
}

/** `?timeout=` of the GETs: milliseconds to wait, a whole number from 0 to the maximum. */
export function timeoutParameter(maxMs: number) {
  return z.int().min(0).max(maxMs);
}

/** The `?timeout=` of a request (digits only: no sign, exponent or spaces), or undefined when it is not one. */
export function parseTimeout(raw: unknown, maxMs: number): number | undefined {
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) return undefined;
  const parsed = timeoutParameter(maxMs).safeParse(Number(raw));
  return parsed.success ? parsed.data : undefined;
}
