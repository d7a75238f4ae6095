import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Order } from '../src/index.ts';
import { avroValueSerde, createSchemaRegistry, recordSchema } from '../src/index.ts';
import type { FakeConfluentRegistry } from './support/fake-registry.ts';
import { startFakeConfluentRegistry } from './support/fake-registry.ts';

/**
 * CONTRACT TEST: it runs against an in-process stand-in, because this is the one registry behaviour
 * that no real server here can show. Everything else about the serdes is tested against the real
 * registry in avro-serde.integration.test.ts.
 *
 * The project's registry is Apicurio. Its GET /config/{subject} answers {"compatibilityLevel":"NONE"}
 * for an existing subject without a level of its own (the integration test covers that, and the NONE
 * fallback of registerSchema, for real). A Confluent Schema Registry answers 404 instead, error code
 * 40408 (ConfigResource#getSubjectLevelConfig with defaultToGlobal=false, whether or not the subject
 * exists), and then the client registers the schema and sets BACKWARD on the subject itself.
 *
 * The exact exchange of Confluent's documented REST API
 * (https://docs.confluent.io/platform/current/schema-registry/develop/api.html) pinned here is what a
 * serde's first record sends to a registry at its root URL, for a subject without its own level:
 *
 *   POST /subjects/{subject}           {"schema":"<self-contained schema>"}
 *        <- 404 {"error_code":40401}  (new subject)  or  {"error_code":40403}  (schema not under it)
 *   GET  /config/{subject}
 *        <- 404 {"error_code":40408,"message":"Subject '{subject}' does not have subject-level compatibility configured"}
 *   POST /subjects/{subject}/versions  {"schema":"<self-contained schema>"}
 *        <- 200 {"id":<id>}
 *   PUT  /config/{subject}             {"compatibility":"BACKWARD"}
 *        <- 200 {"compatibility":"BACKWARD"}
 *
 * each body sent as Content-Type application/vnd.schemaregistry.v1+json. The record is then framed with
 * <id>, and later records of the same serde send no request at all.
 */
const subject = 'orders.v1-value';
const schema = recordSchema('Order').json;
const order: Order = { id: 'order-1', customerId: 15, state: 'CREATED', product: 'JUMPERS', quantity: 3, price: 25.5 };

describe('Avro value serde against a Confluent Schema Registry (contract of the HTTP exchange)', () => {
  let registry: FakeConfluentRegistry;

  beforeEach(async () => {
    registry = await startFakeConfluentRegistry();
  });
  afterEach(() => registry.close());

  it('registers a new subject, then sets BACKWARD on it because its config answers 404 (40408)', async () => {
    const serde = avroValueSerde(createSchemaRegistry(registry.url), 'orders.v1', 'Order');

    const first = await serde.serialize(order);
    const second = await serde.serialize({ ...order, id: 'order-2' });

    expect(exchange(registry)).toEqual([
      { request: `POST /subjects/${subject}`, body: { schema } }, // <- 404 40401
      { request: `GET /config/${subject}`, body: undefined }, // <- 404 40408
      { request: `POST /subjects/${subject}/versions`, body: { schema } }, // <- 200 {"id":101}
      { request: `PUT /config/${subject}`, body: { compatibility: 'BACKWARD' } },
    ]);
    expectBodiesSentAsSchemaRegistryJson(registry);
    expect(first.readInt32BE(1)).toBe(101);
    expect(second.readInt32BE(1)).toBe(101);
    expect(registry.compatibility(subject)).toBe('BACKWARD');
  });

  it('sets BACKWARD on an existing subject without its own level too, when it registers a new schema under it', async () => {
    const olderId = registry.preload(subject, JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }] }));

    const bytes = await avroValueSerde(createSchemaRegistry(registry.url), 'orders.v1', 'Order').serialize(order);

    expect(exchange(registry)).toEqual([
      { request: `POST /subjects/${subject}`, body: { schema } }, // <- 404 40403
      { request: `GET /config/${subject}`, body: undefined }, // <- 404 40408
      { request: `POST /subjects/${subject}/versions`, body: { schema } },
      { request: `PUT /config/${subject}`, body: { compatibility: 'BACKWARD' } },
    ]);
    expectBodiesSentAsSchemaRegistryJson(registry);
    expect(bytes.readInt32BE(1)).not.toBe(olderId);
    expect(registry.compatibility(subject)).toBe('BACKWARD');
  });
});

function exchange(registry: FakeConfluentRegistry): { request: string; body: unknown }[] {
  return registry.requests.map(({ request, body }) => ({ request, body }));
}

function expectBodiesSentAsSchemaRegistryJson(registry: FakeConfluentRegistry): void {
  const withBody = registry.requests.filter((request) => request.body !== undefined);
  expect(withBody.map((request) => request.contentType)).toEqual(withBody.map(() => 'application/vnd.schemaregistry.v1+json'));
}
