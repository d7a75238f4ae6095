import { badRequestBody, errorBody, named, type ApiDescription } from '@ecosystem/platform';
import { z } from 'zod';

/** A customer's current fraud session, a row of GET /v1/fraud-sessions. */
export const fraudSessionRowSchema = z
  .object({
    customerId: z.int().describe('The customer.'),
    start: z.int().describe('Timestamp (epoch ms) of the session\'s first order.'),
    end: z.int().describe('Timestamp (epoch ms) of its latest order; the session ends a gap after it without orders.'),
    total: z.number().describe('The total value (quantity × price) of its orders: at the threshold or above, orders fail the fraud check.'),
    lastOrderId: z.string().describe('The latest order of the session.'),
  })
  .strict();

export const fraudSessionsAnswerSchema = z
  .object({
    asOf: z.int().describe('When the stores were read (epoch ms): sessions that ended a gap or more before are left out.'),
    sessionGapMs: z.int().describe('FRAUD_SESSION_GAP_MS: a session ends after this long without an order.'),
    threshold: z.number().describe('FRAUD_THRESHOLD: a session total at which orders fail.'),
    tasks: z.array(z.string()).describe('The tasks (partitions) the answer covers: every instance\'s, or this one\'s with `scope=instance`.'),
    sessions: z.array(fraudSessionRowSchema).describe('Each customer with a session an order now would join, by customer id.'),
  })
  .strict();

export type FraudSessionRow = z.infer<typeof fraudSessionRowSchema>;
export type FraudSessionsAnswer = z.infer<typeof fraudSessionsAnswerSchema>;

/** GET /v1/fraud-sessions as OpenAPI, from the schemas its handler builds its answer with. */
export const fraudApi: Omit<ApiDescription, 'title'> = {
  description: 'The fraud service: per customer, session windows of order value; an order that takes its session to the threshold fails. Its session stores answer GET /v1/fraud-sessions.',
  operations: [
    {
      method: 'get',
      path: '/v1/fraud-sessions',
      operationId: 'getFraudSessions',
      summary: "Every customer's current fraud session",
      description:
        "An interactive query of the session stores. A customer lives in one task: this instance answers for its own tasks and asks every other instance of the group (the endpoint each advertises) for theirs.",
      query: {
        scope: { description: '`all` (default): every instance\'s customers; `instance`: this instance\'s only (what instances ask each other).', schema: z.enum(['all', 'instance']) },
      },
      responses: {
        '200': { description: 'The sessions an order placed now would join.', body: named('FraudSessions', fraudSessionsAnswerSchema) },
        '400': { description: 'An unknown `scope`.', body: badRequestBody },
        '502': { description: 'Another instance did not answer, or not with its sessions (`instance`, `reason`, `answer`).', body: errorBody },
        '503': { description: 'This instance, or another, has no running tasks yet (starting, rebalancing or restoring): ask again (`Retry-After`).', body: errorBody },
      },
    },
  ],
};
