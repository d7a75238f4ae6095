import avro from 'avsc';
import { createKafka, createLogger, kafkaConfig, loadConfig } from '@ecosystem/platform';
import { createTopics } from 'kstreams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeUntil, type ConsumedRecord } from '../../test/support/kafka.ts';
import type { Customer, Order } from '../src/index.ts';
import {
  avroValueSerde,
  createSchemaRegistry,
  defaultSchemaRegistryUrl,
  longSerde,
  recordSchema,
  stringSerde,
  Topics,
  topicSerdes,
  valueSubject,
} from '../src/index.ts';

/**
 * Runs the serdes against the real registry (Apicurio, ccompat API) and Kafka broker that the test
 * setup starts. A missing server fails every test with the address it tried: nothing is skipped.
 */
const registryUrl = process.env['SCHEMA_REGISTRY_URL'] ?? defaultSchemaRegistryUrl;
// The broker and how to reach it (KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL...), read by the project's one configuration loader.
const kafkaSettings = loadConfig(kafkaConfig);
const brokers = kafkaSettings.KAFKA_BROKERS;

const registry = createSchemaRegistry(registryUrl);
// Quiet: failures surface as test errors with their cause.
const kafka = createKafka({ clientId: 'avro-integration-test', config: kafkaSettings, logger: createLogger('avro-integration-test', 'silent') });
const admin = kafka.admin();
const run = `${Date.now()}-${process.pid}`;
const testTopics = {
  orders: `avro-it-orders-${run}`,
  customers: `avro-it-customers-${run}`,
  inventory: `avro-it-inventory-${run}`,
};

const order: Order = { id: `order-${run}`, customerId: 15, state: 'CREATED', product: 'UNDERPANTS', quantity: 3, price: 5.25 };
const customer: Customer = { id: 7, firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', address: '2 Bug Rd', level: 'platinum' };

// Each test awaits the servers itself, so a missing server fails every test with the reason
// instead of a failing hook that reports the tests as skipped.
let servers: Promise<void>;

beforeAll(() => {
  servers = connectServers();
  servers.catch(() => undefined); // reported by the tests that await it
});

afterAll(async () => {
  await admin.deleteTopics({ topics: Object.values(testTopics) }).catch(() => undefined);
  await kafka.close();
  for (const topic of Object.values(testTopics)) await deleteSubject(valueSubject(topic));
});

describe('serdes against the real registry and broker', () => {
  it('produces an Avro Order and consumes it back equal, framed with a resolvable schema id', async () => {
    await servers;
    const serde = avroValueSerde(registry, testTopics.orders, 'Order');
    await produce(testTopics.orders, stringSerde.serialize(order.id), await serde.serialize(order));

    const [message] = await consume(testTopics.orders, 1);
    const value = message?.value ?? Buffer.alloc(0);
    expect(stringSerde.deserialize(message?.key ?? Buffer.alloc(0))).toBe(order.id);
    expect(await serde.deserialize(value)).toEqual(order);

    expect(value[0]).toBe(0);
    const schemaId = value.readInt32BE(1);
    const response = await fetch(`${registryUrl}/schemas/ids/${schemaId}`);
    expect(response.status).toBe(200);
    const { schema } = (await response.json()) as { schema: string };
    expect(avro.Type.forSchema(JSON.parse(schema) as avro.Schema).name).toBe(recordSchema('Order').fullName);
    expect(schema).toBe(recordSchema('Order').json); // the self-contained text, as a Java producer registers it

    const latest = await fetch(`${registryUrl}/subjects/${valueSubject(testTopics.orders)}/versions/latest`);
    expect(((await latest.json()) as { id: number }).id).toBe(schemaId);
  });

  it('writes customers keys as exactly 8 bytes and inventory values as exactly 4 bytes', async () => {
    await servers;
    const serdes = topicSerdes(registry);
    const customerValue = avroValueSerde(registry, testTopics.customers, 'Customer');
    const inventory = serdes[Topics.warehouseInventory];
    await produce(testTopics.customers, serdes[Topics.customers].key.serialize(customer.id), await customerValue.serialize(customer));
    await produce(testTopics.inventory, inventory.key.serialize('UNDERPANTS'), inventory.value.serialize(75));

    const [customerMessage] = await consume(testTopics.customers, 1);
    expect(customerMessage?.key).toHaveLength(8);
    expect(customerMessage?.key?.toString('hex')).toBe('0000000000000007');
    expect(longSerde.deserialize(customerMessage?.key ?? Buffer.alloc(0))).toBe(customer.id);
    expect(await customerValue.deserialize(customerMessage?.value ?? Buffer.alloc(0))).toEqual(customer);

    const [inventoryMessage] = await consume(testTopics.inventory, 1);
    expect(inventoryMessage?.key?.toString('utf8')).toBe('UNDERPANTS');
    expect(inventoryMessage?.value).toHaveLength(4);
    expect(inventoryMessage?.value?.toString('hex')).toBe('0000004b');
    expect(inventory.value.deserialize(inventoryMessage?.value ?? Buffer.alloc(0))).toBe(75);
  });
});

async function connectServers(): Promise<void> {
  await requireRegistry();
  try {
    await admin.listTopics();
  } catch (error) {
    throw new Error(`Kafka is not reachable at ${brokers.join(',')} (KAFKA_BROKERS): ${String(error)}`);
  }
  await createTopics(
    admin,
    Object.values(testTopics).map((name) => ({ name, partitions: 3, compacted: false, replicationFactor: 1 })),
  );
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

/** Best effort: a soft then a hard delete, so test runs do not pile up subjects. */
async function deleteSubject(subject: string): Promise<void> {
  for (const query of ['', '?permanent=true']) {
    await fetch(`${registryUrl}/subjects/${subject}${query}`, { method: 'DELETE' }).catch(() => undefined);
  }
}

async function produce(topic: string, key: Buffer, value: Buffer): Promise<void> {
  const producer = kafka.producer();
  try {
    await producer.send({ messages: [{ topic, key, value }] });
  } finally {
    await producer.close();
  }
}

function consume(topic: string, count: number): Promise<ConsumedRecord[]> {
  return consumeUntil(kafka, topic, (records) => records.length >= count, 30_000);
}
