import { orderStateSymbols, productSymbols, type Order } from '@ecosystem/avro';
import { z } from 'zod';
import type { FraudRow } from './contracts.ts';
import { named } from './openapi.ts';

/**
 * The answers of the services' HTTP APIs that more than one part of the project describes or
 * reads, as zod schemas: the OpenAPI documents are generated from them, and readers can check
 * an answer with them. Each is held to its TypeScript type (`satisfies`), so the two cannot drift.
 */

const int32 = z.int().min(-2_147_483_648).max(2_147_483_647);

/** An order as the orders API answers it: the Avro `Order` record. */
export const orderSchema = z
  .object({
    id: z.string().min(1),
    customerId: z.int().describe('A safe integer (Avro long).'),
    state: z.enum(orderStateSymbols),
    product: z.enum(productSymbols),
    quantity: int32.describe('A 32-bit integer (Avro int). Not checked by the API: a quantity under 1 FAILs the order-details check.'),
    price: z.number(),
  })
  .strict()
  .describe('An order (the Avro `Order` record).') satisfies z.ZodType<Order>;

export const orderBody = named('Order', orderSchema);

/** A row of order-enrichment's GET /fraud. */
export const fraudRowSchema = z
  .object({
    customerId: z.int(),
    firstName: z.string().nullable().describe('null when the customer is not (yet) on the customers topic.'),
    lastName: z.string().nullable(),
    counts: z.int().describe('Orders of the customer in the window (more than 2 is fraud).'),
    windowStart: z.int().describe('Start of the 30-second window, epoch milliseconds (inclusive).'),
    windowEnd: z.int().describe('End of the window, epoch milliseconds (exclusive).'),
  })
  .strict()
  .describe('A customer with more than two orders in one 30-second window.') satisfies z.ZodType<FraudRow>;

export const fraudRowsBody = named('FraudRows', z.array(fraudRowSchema).describe('Newest windows first; within a window by customer id.'));
