import type { Customer } from '@ecosystem/avro';
import { badRequestBody, errorBody, named, type ApiDescription } from '@ecosystem/platform';
import { z } from 'zod';

/** GET /v1/emails/count. */
export const emailCountSchema = z
  .object({
    transport: z.enum(['smtp', 'outbox']).optional().describe('Where emails go: an SMTP server or the outbox folder (absent before the topology is built).'),
    destination: z.string().optional().describe('The SMTP URL (credentials hidden) or the outbox folder.'),
    sent: z.int().min(0),
    duplicatesSkipped: z.int().min(0).describe('Outcomes not emailed again because their order already was.'),
    failedAttempts: z.int().min(0).describe('Sends that failed and are being retried.'),
    rejected: z.int().min(0).describe('Outcomes dead-lettered: no such customer, no valid address, a recipient refused for good.'),
    lastFailure: z.string().nullable(),
  })
  .strict();

/** GET /v1/customers/:id: the Avro `Customer` record. */
const customerSchema = z
  .object({ id: z.int(), firstName: z.string(), lastName: z.string(), email: z.string(), address: z.string(), level: z.string() })
  .strict()
  .describe('A customer (the Avro `Customer` record).') satisfies z.ZodType<Customer>;

/** The email service's routes as OpenAPI. */
export const emailApi: Omit<ApiDescription, 'title'> = {
  description: 'Emails every order outcome to its customer (SMTP or an outbox folder), and routes enriched orders by customer level.',
  operations: [
    {
      method: 'get',
      path: '/v1/emails/count',
      operationId: 'getEmailCounts',
      summary: 'What this process sent, skipped and retried, and where emails go',
      responses: { '200': { description: 'The counts since the process started.', body: named('EmailCounts', emailCountSchema) } },
    },
    {
      method: 'get',
      path: '/v1/customers/:id',
      operationId: 'getCustomer',
      summary: "A customer as this instance's global table holds it",
      params: { id: { description: 'The customer id (an integer).', schema: z.string().regex(/^-?\d{1,16}$/) } },
      responses: {
        '200': { description: 'The customer: the address an email goes to, the level an order is routed by.', body: named('Customer', customerSchema) },
        '400': { description: 'Not an integer id (named in `fields`).', body: badRequestBody },
        '404': { description: 'No such customer (yet) in this instance\'s table.', body: errorBody },
        '503': { description: 'The customers table is still loading: retry.', body: errorBody },
      },
    },
  ],
};
