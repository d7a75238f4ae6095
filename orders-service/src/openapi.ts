import { badRequestBody, errorBody, named, orderBody, type ApiDescription, type ApiOperation, type ApiResponse } from '@ecosystem/platform';
import { orderStateSymbols } from '@ecosystem/avro';
import { z } from 'zod';
import { orderInput, timeoutParameter } from './order-input.ts';

export interface OrdersApiLimits {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  maxBodyBytes: number;
  maxPostsInFlight: number;
  maxPendingOrders: number;
  postTimeoutMs: number;
}

const conflictBody = named(
  'OrderExists',
  z.object({ error: z.string(), id: z.string().describe('The id of the existing order.') }).strict().describe('The order id is taken: nothing was written.'),
);

const timeoutBody = named(
  'OrderTimeout',
  z
    .object({
      error: z.string(),
      id: z.string(),
      state: z.enum(orderStateSymbols).optional().describe('Where the order is (when it exists but has not reached the state waited for).'),
    })
    .strict()
    .describe('The wait ended before the order was there (or in the state waited for).'),
);

const servedBy = { 'x-served-by': { description: 'The instance (host:port) that owns the order and answered.', schema: z.string(), required: false } };

/** What every request about an order may meet on its way to the instance owning the order. */
const onTheWay: Record<string, ApiResponse> = {
  '502': { description: 'The instance owning the order did not answer (several instances: the request was forwarded).', body: errorBody },
  '503': {
    description:
      'The order store is restoring or rebalancing, this instance is stopping (then with `x-instance-stopping`), or a forwarded request reached an instance that does not own the order (then with `x-not-owner`): retry, after `Retry-After` seconds when it is given.',
    body: errorBody,
    headers: {
      'Retry-After': { description: 'Seconds to wait before retrying.', schema: z.string(), required: false },
      'x-instance-stopping': { description: 'The stopping instance (host:port): the request was not taken.', schema: z.string(), required: false },
      'x-not-owner': { description: 'The instance (host:port) that got a forwarded request for an order it does not own: nothing was done, and it forwards no further.', schema: z.string(), required: false },
    },
  },
};

function getOrderOperation(limits: OrdersApiLimits, validated: boolean): ApiOperation {
  return {
    method: 'get',
    path: validated ? '/v1/orders/:id/validated' : '/v1/orders/:id',
    operationId: validated ? 'getValidatedOrder' : 'getOrder',
    summary: validated ? 'The order once it is VALIDATED or FAILED' : 'The latest state of an order',
    description: validated
      ? 'Waits (long-poll) until the order is VALIDATED or FAILED, or the timeout passes.'
      : 'Waits (long-poll) until the order is known, or the timeout passes. Any instance answers: a request for an order of another instance is forwarded to it.',
    params: { id: { description: 'The order id.', schema: z.string().min(1) } },
    query: {
      timeout: { description: `How long to wait, in milliseconds (default ${limits.defaultTimeoutMs}).`, schema: timeoutParameter(limits.maxTimeoutMs) },
    },
    responses: {
      '200': { description: validated ? 'The order, VALIDATED or FAILED.' : 'The order.', body: orderBody, headers: servedBy },
      '400': { description: 'An invalid `timeout` (named in `fields`).', body: badRequestBody },
      ...onTheWay,
      '504': {
        description: validated
          ? 'The order did not reach VALIDATED or FAILED within the timeout: `state` says where it is, absent when the order is unknown.'
          : 'The order was not found within the timeout.',
        body: timeoutBody,
      },
    },
  };
}

/** The orders API (POST /v1/orders, GET /v1/orders/:id[/validated]) as OpenAPI, from the schemas its handlers use. */
export function ordersApiDescription(limits: OrdersApiLimits): ApiDescription {
  return {
    title: 'orders-service',
    description:
      'The orders API: post an order, read its state. Every request about an order is answered by the instance owning the order id, so a client reads its own writes through any instance.',
    operations: [
      {
        method: 'post',
        path: '/v1/orders',
        operationId: 'createOrder',
        summary: 'Place an order',
        description:
          'Only the shape is checked here (business rules, such as a positive quantity, are the validators\' job). Once the broker has acknowledged the order, the answer is 201.',
        requestBody: { description: `The order, as JSON (\`Content-Type: application/json\`, at most ${limits.maxBodyBytes} bytes).`, schema: named('OrderInput', orderInput) },
        responses: {
          '201': {
            description: 'Accepted and written to orders.v1 as CREATED.',
            body: orderBody,
            headers: { Location: { description: 'The order: /v1/orders/{id}.', schema: z.string() }, ...servedBy },
          },
          '400': {
            description:
              'Refused, nothing written: not JSON, wrong content type, empty or too large a body, a missing, mistyped or unknown field, an unknown product, a state other than CREATED. `fields` names each field at fault (`body` for the body as a whole).',
            body: badRequestBody,
          },
          '409': { description: 'An order with this id exists.', body: conflictBody },
          ...onTheWay,
          '503': {
            ...onTheWay['503']!,
            description: `${onTheWay['503']!.description} Also the load shedding, with \`reason: overloaded\` and \`Retry-After\`, nothing written: more than ${limits.maxPostsInFlight} POSTs under way on this instance, more than ${limits.maxPendingOrders} of its orders not final yet, or the order not sent to Kafka within ${limits.postTimeoutMs} ms.`,
          },
          '504': {
            description: `The order was sent to Kafka but not acknowledged within ${limits.postTimeoutMs} ms: it may or may not be written (GET it to know; a retry with the same id is refused with 409 meanwhile).`,
            body: errorBody,
          },
        },
      },
      getOrderOperation(limits, false),
      getOrderOperation(limits, true),
    ],
  };
}
