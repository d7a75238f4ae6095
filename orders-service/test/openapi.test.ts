import { createLogger, type BatchingProducer, type OpenApiDocument } from '@ecosystem/platform';
import type { KafkaStreams } from 'kstreams';
import type { TopicSerdes } from '@ecosystem/avro';
import { beforeAll, describe, expect, it } from 'vitest';
import { openApiProblems, operationsOf, schemaValidator, servedDocument } from '../../test/support/openapi.ts';
import { ordersApiDescription } from '../src/openapi.ts';
import { parseOrderInput, parseTimeout } from '../src/order-input.ts';
import { ordersApi } from '../src/routes.ts';
import { OrderWaiters } from '../src/waiters.ts';

const limits = { defaultTimeoutMs: 10_000, maxTimeoutMs: 60_000, maxBodyBytes: 16 * 1024, maxPostsInFlight: 256, maxPendingOrders: 2_000, postTimeoutMs: 5_000 };
let document: OpenApiDocument;

beforeAll(async () => {
  // The routes as main.ts builds them (nothing is called while they are only listed).
  const { router, stop } = ordersApi({
    streams: {} as KafkaStreams,
    producer: {} as BatchingProducer,
    serdes: {} as TopicSerdes,
    waiters: new OrderWaiters(),
    logger: createLogger('openapi-test', 'silent'),
    endpoint: '127.0.0.1:0',
    ...limits,
  });
  document = await servedDocument(router, ordersApiDescription(limits), true);
  await stop();
});

describe("the orders service's /openapi.json", () => {
  it('is valid OpenAPI 3.1 and names every route, with every error answer', async () => {
    expect(await openApiProblems(document)).toEqual([]);
    expect(operationsOf(document).sort()).toEqual([
      'GET /health',
      'GET /metrics',
      'GET /openapi.json',
      'GET /ready',
      'GET /v1/orders/{id}',
      'GET /v1/orders/{id}/validated',
      'POST /v1/orders',
    ]);
    const statuses = (path: string, method: 'get' | 'post') => Object.keys(document.paths[path]![method]!.responses).sort();
    expect(statuses('/v1/orders', 'post')).toEqual(['201', '400', '401', '409', '500', '502', '503', '504']);
    expect(statuses('/v1/orders/{id}', 'get')).toEqual(['200', '400', '401', '500', '502', '503', '504']);
    expect(statuses('/v1/orders/{id}/validated', 'get')).toEqual(['200', '400', '401', '500', '502', '503', '504']);
    expect(document.paths['/v1/orders']!.post!.responses['201']!.headers!.Location!.required).toBe(true);
    expect(document.paths['/v1/orders']!.post!.responses['400']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/BadRequest' });
  });

  it("describes the body POST /v1/orders takes as its handler checks it: the schema's verdict is the handler's", () => {
    const schema = document.paths['/v1/orders']!.post!.requestBody!.content['application/json']!.schema!;
    expect(schema).toEqual({ $ref: '#/components/schemas/OrderInput' });
    const validate = schemaValidator(document, 'OrderInput');
    const valid = { customerId: 7, product: 'JUMPERS', quantity: 2, price: 9.5 };
    const bodies: unknown[] = [
      valid,
      { ...valid, id: 'order-1', state: 'CREATED' },
      { ...valid, quantity: -1, price: -2 },
      { ...valid, customerId: Number.MAX_SAFE_INTEGER },
      { ...valid, quantity: 2 ** 31 - 1 },
      { ...valid, id: 'a.b:c_d-e' },
      {},
      [],
      'order',
      null,
      { ...valid, customerId: -1 },
      { ...valid, customerId: 1.5 },
      { ...valid, customerId: Number.MAX_SAFE_INTEGER + 2 },
      { ...valid, product: 'HATS' },
      { ...valid, quantity: 2 ** 31 },
      { ...valid, quantity: '2' },
      { ...valid, price: null },
      { ...valid, state: 'VALIDATED' },
      { ...valid, id: '' },
      { ...valid, id: 'x'.repeat(129) },
      { ...valid, id: 'a b' },
      { ...valid, colour: 'red' },
      { order: valid },
    ];
    for (const body of bodies) expect(validate(body), JSON.stringify(body)).toBe(parseOrderInput(body).ok);
  });

  it('describes ?timeout= as the handlers read it', () => {
    const parameter = document.paths['/v1/orders/{id}']!.get!.parameters!.find((candidate) => candidate.name === 'timeout')!;
    expect(parameter).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: limits.maxTimeoutMs } });
    const validate = schemaValidator(document, parameter.schema);
    for (const value of [0, 1, 59_999, 60_000, 60_001, 1e20]) expect(validate(value), String(value)).toBe(parseTimeout(String(value), limits.maxTimeoutMs) !== undefined);
    for (const raw of ['-1', '1.5', '1e3', ' 5', 'soon', '']) expect(parseTimeout(raw, limits.maxTimeoutMs), raw).toBeUndefined();
  });
});
