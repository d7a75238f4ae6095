import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import avro from 'avsc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Customer, Order, SchemaRegistryClientArgs } from '../src/index.ts';
import {
  avroValueSerde,
  createAvroSerde,
  createSchemaRegistry,
  defaultSchemaRegistryUrl,
  frame,
  recordSchema,
  SerdeError,
  Topics,
  topicSerdes,
  valueSubject,
} from '../src/index.ts';

/**
 * The Avro serdes against the real registry (Apicurio, Confluent-compatible API) that the integration
 * setup starts or finds running: no fake server. Requests are counted by a recording middleware on
 * the real client, and the registry's own state is checked through its ccompat API.
 *
 * Isolation: every test that registers anything uses its own subject (a unique topic or subject name),
 * deleted after the test. Only the round trip through `topicSerdes` uses the project's real subjects
 * (`orders.v1-value`, ...): other tests may use those too, so they are never deleted and nothing here
 * assumes they are new.
 */
const registryUrl = process.env['SCHEMA_REGISTRY_URL'] ?? defaultSchemaRegistryUrl;
const run = `${Date.now()}-${process.pid}-${randomBytes(3).toString('hex')}`;
const ns = 'io.confluent.examples.streams.avro.microservices';
const contentType = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
/** Far above any id this registry hands out; checked to be unknown before it is used. */
const unknownSchemaId = 2_000_000_000;

const order: Order = { id: `order-${run}`, customerId: 15, state: 'CREATED', product: 'JUMPERS', quantity: 3, price: 25.5 };
const customer: Customer = { id: 7, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: '1 Loop St', level: 'gold' };

type Middleware = NonNullable<SchemaRegistryClientArgs['middlewares']>[number];

/** Subjects created by the current test, deleted after it. */
const createdSubjects = new Set<string>();
let testNumber = 0;

/** A topic of its own for one test; its `-value` subject is deleted afterwards. */
function uniqueTopic(label: string): string {
  const topic = `avro-serde-it-${label}-${run}-${++testNumber}`;
  createdSubjects.add(valueSubject(topic));
  return topic;
}

function uniqueSubject(label: string): string {
  return valueSubject(uniqueTopic(label));
}

/** A real client whose every HTTP request is recorded as "METHOD /path" (relative to the registry URL). */
function recordingRegistry(url = registryUrl, clientArgs: Omit<SchemaRegistryClientArgs, 'host' | 'middlewares'> = {}) {
  const requests: string[] = [];
  const recorder: Middleware = () => ({
    async prepareRequest(next) {
      const request = await next();
      requests.push(`${request.method().toUpperCase()} ${request.path()}`);
      return request;
    },
  });
  return { registry: createSchemaRegistry(url, { ...clientArgs, middlewares: [recorder] }), requests };
}

let reachable: Promise<void> | undefined;

// In beforeEach rather than beforeAll so that a missing registry fails every test with its address
// instead of reporting them as skipped.
beforeEach(async () => {
  reachable ??= requireRegistry();
  await reachable;
});

afterEach(async () => {
  const subjects = [...createdSubjects];
  createdSubjects.clear();
  for (const subject of subjects) await deleteSubject(subject);
});

describe('Avro value serde against the real registry', () => {
  it('writes the Confluent wire format with the id of the registered self-contained schema', async () => {
    const topic = uniqueTopic('wire');
    const serde = avroValueSerde(createSchemaRegistry(registryUrl), topic, 'Order');
    const bytes = await serde.serialize(order);

    expect(bytes[0]).toBe(0);
    const id = bytes.readInt32BE(1);
    const lookup = await fetch(`${registryUrl}/schemas/ids/${id}`);
    expect(lookup.status).toBe(200);
    expect(((await lookup.json()) as { schema: string }).schema).toBe(recordSchema('Order').json);
    expect(bytes.subarray(5)).toEqual(recordSchema('Order').type.toBuffer(order));
    expect(await serde.deserialize(bytes)).toEqual(order);

    const latest = await getJson(`/subjects/${valueSubject(topic)}/versions/latest`);
    expect(latest.status).toBe(200);
    expect((latest.body as { id: number }).id).toBe(id);
  });

  it('registers under <topic>-value once per serde, then reuses the id', async () => {
    const topic = uniqueTopic('once');
    const subject = valueSubject(topic);
    const { registry, requests } = recordingRegistry();
    const serde = avroValueSerde(registry, topic, 'Order');

    const written = await Promise.all([serde.serialize(order), serde.serialize(order)]);
    written.push(await serde.serialize({ ...order, id: 'order-2' }));

    const ids = new Set(written.map((bytes) => bytes.readInt32BE(1)));
    expect(ids.size).toBe(1);
    expect(requests.filter((request) => request === `POST /subjects/${subject}/versions`)).toHaveLength(1);
    expect(requests.filter((request) => request.startsWith('POST'))).toEqual([`POST /subjects/${subject}`, `POST /subjects/${subject}/versions`]);
    expect(await versionsOf(subject)).toEqual([1]);
  });

  it('finds an already registered schema without registering a new version', async () => {
    const subject = uniqueSubject('known');
    const id = await registerDirectly(subject, recordSchema('Order').json);
    const { registry, requests } = recordingRegistry();

    const bytes = await createAvroSerde<Order>(registry, subject, recordSchema('Order')).serialize(order);

    expect(bytes.readInt32BE(1)).toBe(id);
    expect(requests).toEqual([`POST /subjects/${subject}`]); // the look-up only
    expect(await versionsOf(subject)).toEqual([1]);
  });

  it('sets BACKWARD on a subject it creates: the registry answers 404 for the config of an unknown subject', async () => {
    const subject = uniqueSubject('new-subject');
    const { registry, requests } = recordingRegistry();

    await createAvroSerde<Order>(registry, subject, recordSchema('Order')).serialize(order);

    expect(requests).toEqual([
      `POST /subjects/${subject}`, // look-up: subject not found
      `GET /config/${subject}`, // 404: the client treats the subject as new
      `POST /subjects/${subject}/versions`,
      `PUT /config/${subject}`, // {"compatibility":"BACKWARD"}
    ]);
    expect(await compatibilityOf(subject)).toBe('BACKWARD');
  });

  it('registers under an existing subject without a level of its own by accepting the NONE the registry reports', async () => {
    // Another producer registered an older Customer, setting no subject-level compatibility.
    const subject = uniqueSubject('none-fallback');
    const olderId = await registerDirectly(subject, JSON.stringify(customerWithoutLevel()));
    expect(await compatibilityOf(subject)).toBe('NONE'); // what the fallback in registerSchema is for
    const { registry, requests } = recordingRegistry();

    const bytes = await createAvroSerde<Customer>(registry, subject, recordSchema('Customer')).serialize(customer);

    expect(requests).toEqual([
      `POST /subjects/${subject}`, // look-up: schema not found
      `GET /config/${subject}`, // NONE, not the BACKWARD asked for: the client refuses to register
      `GET /config/${subject}`, // asked again with NONE: accepted
      `POST /subjects/${subject}/versions`,
    ]); // and no PUT /config: the subject's level stays as the registry reports it
    const id = bytes.readInt32BE(1);
    expect(id).not.toBe(olderId);
    expect(await versionsOf(subject)).toEqual([1, 2]);
    expect(((await getJson(`/subjects/${subject}/versions/2`)).body as { id: number }).id).toBe(id);
    expect(await compatibilityOf(subject)).toBe('NONE');
  });

  it('round-trips every Avro topic through topicSerdes, registered under the topic subjects', async () => {
    // The project's real subjects: they may already exist and other tests may use them, so they are
    // neither assumed new nor deleted.
    const serdes = topicSerdes(createSchemaRegistry(registryUrl));
    const enriched = { id: `order-${run}`, customerId: 7, customerLevel: 'gold' };
    const samples = [
      [Topics.orders, 'Order', serdes[Topics.orders].value, order],
      [Topics.orderValidations, 'OrderValidation', serdes[Topics.orderValidations].value, { orderId: order.id, checkType: 'FRAUD_CHECK', validationResult: 'PASS' }],
      [Topics.payments, 'Payment', serdes[Topics.payments].value, { id: `payment-${run}`, orderId: order.id, ccy: 'EUR', amount: 76.5 }],
      [Topics.customers, 'Customer', serdes[Topics.customers].value, customer],
      [Topics.ordersEnriched, 'OrderEnriched', serdes[Topics.ordersEnriched].value, enriched],
      [Topics.platinum, 'OrderEnriched', serdes[Topics.platinum].value, { ...enriched, customerLevel: 'platinum' }],
      [Topics.gold, 'OrderEnriched', serdes[Topics.gold].value, enriched],
      [Topics.silver, 'OrderEnriched', serdes[Topics.silver].value, { ...enriched, customerLevel: 'silver' }],
      [Topics.bronze, 'OrderEnriched', serdes[Topics.bronze].value, { ...enriched, customerLevel: 'bronze' }],
    ] as const;

    for (const [topic, recordName, serde, value] of samples) {
      const bytes = await (serde.serialize as (value: unknown) => Promise<Buffer>)(value);
      expect(await serde.deserialize(bytes)).toEqual(value);
      // The id on the wire is that of our schema under the topic's subject.
      const lookup = await postJson(`/subjects/${valueSubject(topic)}`, { schema: recordSchema(recordName).json });
      expect(lookup.status, `${recordName} under ${valueSubject(topic)}`).toBe(200);
      expect((lookup.body as { id: number }).id).toBe(bytes.readInt32BE(1));
    }
  });

  it('fetches each writer schema once', async () => {
    const topic = uniqueTopic('fetch-once');
    const bytes = await avroValueSerde(createSchemaRegistry(registryUrl), topic, 'Order').serialize(order);
    const { registry, requests } = recordingRegistry();
    const reader = avroValueSerde(registry, topic, 'Order');

    await Promise.all([reader.deserialize(bytes), reader.deserialize(bytes)]);
    expect(await reader.deserialize(bytes)).toEqual(order);

    expect(requests).toEqual([`GET /schemas/ids/${bytes.readInt32BE(1)}`]);
  });

  it('reads values written with an older schema, filling defaults', async () => {
    const { level: _level, ...withoutLevel } = customer;
    const bytes = await writtenWith(uniqueSubject('older'), customerWithoutLevel(), withoutLevel);

    const serde = avroValueSerde(createSchemaRegistry(registryUrl), Topics.customers, 'Customer'); // reads only: registers nothing
    expect(await serde.deserialize(bytes)).toEqual({ ...withoutLevel, level: 'bronze' });
  });

  it('reads values written with a newer schema, ignoring fields it does not know', async () => {
    const newOrder = JSON.parse(recordSchema('Order').json) as { fields: object[] };
    newOrder.fields.push({ name: 'note', type: 'string', default: '' });
    const bytes = await writtenWith(uniqueSubject('newer'), newOrder, { ...order, note: 'gift' });

    const serde = avroValueSerde(createSchemaRegistry(registryUrl), Topics.orders, 'Order'); // reads only: registers nothing
    expect(await serde.deserialize(bytes)).toEqual(order);
  });
});

describe('errors a dead-letter handler can report, against the real registry', () => {
  const orderSerde = (registry = createSchemaRegistry(registryUrl)) => avroValueSerde(registry, uniqueTopic('errors'), 'Order');

  it('bad magic byte', async () => {
    const error = await serdeErrorOf(() => orderSerde().deserialize(Buffer.from('01000000010a', 'hex')));
    expect(error.reason).toBe('bad-magic-byte');
    expect(error.transient).toBe(false);
  });

  it('buffer too short for the header', async () => {
    const error = await serdeErrorOf(() => orderSerde().deserialize(Buffer.from([0, 0, 0])));
    expect(error.reason).toBe('too-short');
    expect(error.transient).toBe(false);
  });

  it('schema id unknown to the registry', async () => {
    expect((await fetch(`${registryUrl}/schemas/ids/${unknownSchemaId}`)).status).toBe(404);

    const error = await serdeErrorOf(() => orderSerde().deserialize(frame(unknownSchemaId, Buffer.from([2, 0x61]))));
    expect(error.reason).toBe('unknown-schema-id');
    expect(error.message).toContain(String(unknownSchemaId));
    expect(error.transient).toBe(false);
  });

  it('body that does not decode', async () => {
    const serde = orderSerde();
    const bytes = await serde.serialize(order);
    const truncated = bytes.subarray(0, bytes.length - 3);
    expect((await serdeErrorOf(() => serde.deserialize(truncated))).reason).toBe('undecodable-body');
    const trailing = Buffer.concat([bytes, Buffer.from([1, 2])]);
    expect((await serdeErrorOf(() => serde.deserialize(trailing))).reason).toBe('undecodable-body');
  });

  it('writer schema that cannot be read as ours', async () => {
    const otherOrder = { type: 'record', name: 'Order', namespace: ns, fields: [{ name: 'id', type: 'int' }] };
    const bytes = await writtenWith(uniqueSubject('incompatible'), otherOrder, { id: 1 });

    const error = await serdeErrorOf(() => orderSerde().deserialize(bytes));
    expect(error.reason).toBe('incompatible-schema');
    expect(error.message).toContain(String(bytes.readInt32BE(1)));
    expect(error.transient).toBe(false);
  });

  it('value that does not match the schema, naming the bad fields and registering nothing', async () => {
    const topic = uniqueTopic('invalid-value');
    const { registry, requests } = recordingRegistry();
    const invalid = { ...order, quantity: 1.5, product: 'HATS' } as unknown as Order;

    const error = await serdeErrorOf(() => avroValueSerde(registry, topic, 'Order').serialize(invalid));

    expect(error.reason).toBe('invalid-value');
    expect(error.message).toContain('product');
    expect(error.message).toContain('quantity');
    expect(error.transient).toBe(false);
    expect(requests).toEqual([]);
    expect(await versionsOf(valueSubject(topic))).toBe('subject not found');
  });

  it('registry that cannot be reached, marked transient', async () => {
    const url = `http://127.0.0.1:${await closedLoopbackPort()}/apis/ccompat/v7`;
    const unreachable = orderSerde(createSchemaRegistry(url, { retry: { retries: 0 } }));

    const onWrite = await serdeErrorOf(() => unreachable.serialize(order));
    expect(onWrite.reason).toBe('registry-unavailable');
    expect(onWrite.transient).toBe(true);
    const onRead = await serdeErrorOf(() => unreachable.deserialize(frame(1, Buffer.alloc(0))));
    expect(onRead.reason).toBe('registry-unavailable');
    expect(onRead.transient).toBe(true);
  });
});

async function serdeErrorOf(action: () => Promise<unknown>): Promise<SerdeError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof SerdeError) return error;
    throw error;
  }
  throw new Error('expected a SerdeError');
}

/** The Customer schema before `level` was added. */
function customerWithoutLevel(): { fields: { name: string }[] } {
  const schema = JSON.parse(recordSchema('Customer').json) as { fields: { name: string }[] };
  schema.fields = schema.fields.filter((field) => field.name !== 'level');
  return schema;
}

/** Bytes a producer using `schema` would write, after registering it under `subject` itself. */
async function writtenWith(subject: string, schema: object, value: unknown): Promise<Buffer> {
  const id = await registerDirectly(subject, JSON.stringify(schema));
  return frame(id, avro.Type.forSchema(schema as avro.Schema).toBuffer(value));
}

/** Registers through the ccompat API directly, as another producer would; sets no compatibility. */
async function registerDirectly(subject: string, schema: string): Promise<number> {
  const response = await postJson(`/subjects/${subject}/versions`, { schema });
  if (response.status !== 200) throw new Error(`registering under ${subject} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return (response.body as { id: number }).id;
}

async function versionsOf(subject: string): Promise<number[] | 'subject not found'> {
  const response = await getJson(`/subjects/${subject}/versions`);
  if (response.status === 404) return 'subject not found';
  return response.body as number[];
}

async function compatibilityOf(subject: string): Promise<string> {
  const response = await getJson(`/config/${subject}`);
  if (response.status !== 200) throw new Error(`GET /config/${subject} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return (response.body as { compatibilityLevel: string }).compatibilityLevel;
}

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${registryUrl}${path}`);
  return { status: response.status, body: await response.json() };
}

async function postJson(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${registryUrl}${path}`, { method: 'POST', headers: contentType, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

/** A soft then a hard delete; a subject the test never created answers 404, anything else fails the test. */
async function deleteSubject(subject: string): Promise<void> {
  for (const query of ['', '?permanent=true']) {
    const response = await fetch(`${registryUrl}/subjects/${subject}${query}`, { method: 'DELETE' });
    if (response.status !== 200 && response.status !== 404) {
      throw new Error(`DELETE /subjects/${subject}${query} answered ${response.status}: ${await response.text()}`);
    }
  }
}

/** A loopback port with nothing listening: connections are refused at once. */
async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}

async function requireRegistry(): Promise<void> {
  let problem: string;
  try {
    const response = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(5_000) });
    if (response.ok) return;
    problem = `GET /subjects answered ${response.status}`;
  } catch (error) {
    problem = String(error instanceof Error && error.cause !== undefined ? error.cause : error);
  }
  throw new Error(`The schema registry is not reachable at ${registryUrl} (SCHEMA_REGISTRY_URL): ${problem}`);
}
