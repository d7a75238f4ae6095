import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topics } from '@ecosystem/avro';
import { TestSystem } from './system.ts';

let system: TestSystem;

beforeAll(async () => {
  system = await TestSystem.start({ services: ['orders-service'] });
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

const valid = { customerId: 7, product: 'JUMPERS', quantity: 2, price: 9.5 };

/** Each malformed request, and the field the 400 answer must name. */
const malformed: Array<[string, { body: string; contentType?: string }, string]> = [
  ['not JSON', { body: '{"customerId": 7, "product": ' }, 'body'],
  ['an empty body', { body: '' }, 'body'],
  ['a JSON array', { body: '[1,2,3]' }, 'body'],
  ['a missing product', { body: JSON.stringify({ customerId: 7, quantity: 1, price: 1 }) }, 'product'],
  ['a missing customerId', { body: JSON.stringify({ product: 'JUMPERS', quantity: 1, price: 1 }) }, 'customerId'],
  ['a string quantity', { body: JSON.stringify({ ...valid, quantity: 'two' }) }, 'quantity'],
  ['an unknown product', { body: JSON.stringify({ ...valid, product: 'HATS' }) }, 'product'],
  ['a huge body', { body: JSON.stringify({ ...valid, id: 'x'.repeat(100_000) }) }, 'body'],
  ['a negative customer id', { body: JSON.stringify({ ...valid, customerId: -4 }) }, 'customerId'],
  ['a non-integer quantity', { body: JSON.stringify({ ...valid, quantity: 1.5 }) }, 'quantity'],
  ['extra nesting', { body: JSON.stringify({ order: valid }) }, 'order'],
  ['a wrong content type', { body: JSON.stringify(valid), contentType: 'text/plain' }, 'body'],
  ['a state other than CREATED', { body: JSON.stringify({ ...valid, state: 'VALIDATED' }) }, 'state'],
  ['a price that is not a number', { body: JSON.stringify({ ...valid, price: null }) }, 'price'],
];

describe('POST /v1/orders with bad input', () => {
  it.each(malformed)('answers 400 naming the problem for %s', async (_name, request, field) => {
    // Through ordersRequest: the 400 must also match the API's /openapi.json.
    const response = await system.ordersRequest('/v1/orders', {
      method: 'POST',
      headers: { 'content-type': request.contentType ?? 'application/json' },
      body: request.body,
    });
    const body = response.body as { error: string; fields: Record<string, string> };
    expect(response.status).toBe(400);
    expect(body.error).toBeTruthy();
    expect(Object.keys(body.fields)).toContain(field);
  });

  it('wrote nothing to orders.v1 for any of them, while a valid order still goes through', async () => {
    const { status, body } = await system.postOrder(valid);
    expect(status).toBe(201);
    const serdes = system.serdes[Topics.orders];
    const records = await system.read(serdes.topic, (value) => serdes.value.deserialize(value), (seen) => seen.some(({ key }) => key === body.id));
    expect(records.map(({ key }) => key)).toEqual([body.id]);
  });

  it('rejects a bad timeout and leaves no waiter behind after timeouts and disconnects', async () => {
    expect((await system.ordersRequest('/v1/orders/x?timeout=soon')).status).toBe(400);
    expect((await system.ordersRequest('/v1/orders/x/validated?timeout=-1')).status).toBe(400);
    const timedOut = await Promise.all(Array.from({ length: 20 }, (_, index) => system.ordersRequest(`/v1/orders/none-${index}?timeout=200`)));
    expect(timedOut.map(({ status }) => status)).toEqual(timedOut.map(() => 504));
    const aborted = Array.from({ length: 20 }, (_, index) => {
      const controller = new AbortController();
      const request = fetch(`${system.ordersUrl()}/v1/orders/gone-${index}?timeout=30000`, { signal: controller.signal }).catch(() => undefined);
      return { controller, request };
    });
    const health = async () => ((await system.ordersRequest('/health')).body as { waiters: number }).waiters;
    // The waiters of the long requests are registered...
    for (let attempt = 0; (await health()) < 20 && attempt < 100; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await health()).toBe(20);
    for (const { controller } of aborted) controller.abort();
    await Promise.all(aborted.map(({ request }) => request));
    // ...and released when their clients go away.
    for (let attempt = 0; (await health()) > 0 && attempt < 100; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await health()).toBe(0);
  });
});
