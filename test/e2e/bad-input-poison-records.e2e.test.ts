import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { customerLevels, customerLevelTopic, Topics, type Customer, type CustomerLevel, type Order, type OrderEnriched, type TopicName } from '@ecosystem/avro';
import { committedOffsets, type BytesProducer } from 'kstreams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from './support/prng.ts';
import { TopicRecords, type TopicRecord } from './support/topic-records.ts';
import { pipelineServices, TestSystem, type ServiceName } from './system.ts';
import { eventually } from '../support/eventually.ts';

/**
 * Garbage written straight onto every input topic while the whole system runs: the order
 * pipeline, order-enrichment (local engine) and email-service (outbox). Each unreadable record
 * must end up in the dead-letter topic `<application id>.dlq` of every service reading its
 * topic, with the runtime's headers; a null value is no poison (a stream skips it, a table
 * takes it as a delete); and orders posted before and after keep flowing.
 */
const services: ServiceName[] = [...pipelineServices, 'order-enrichment', 'email-service'];

/** Who reads each input topic through a stream or table task (so dead-letters what it cannot read). */
const readers: Partial<Record<TopicName, ServiceName[]>> = {
  [Topics.orders]: services,
  [Topics.orderValidations]: ['validation-aggregator'],
  [Topics.warehouseInventory]: ['inventory-service'],
  [Topics.payments]: ['email-service'],
  // email-service reads customers too, as a global table: see the last test.
  [Topics.customers]: ['order-enrichment'],
};

let system: TestSystem;
let producer: BytesProducer;
let outbox: string;
let deadLetters: TopicRecords;
const dlqTopic = (service: ServiceName) => `${system.prefix}${service}.dlq`;

const uniqueId = () => 10_000_000 + Math.floor(Math.random() * 1_000_000_000);
const customers: Array<Customer & { level: CustomerLevel }> = (['gold', 'silver', 'platinum'] as const).map((level) => {
  const id = uniqueId();
  return { id, firstName: `Poison${level}`, lastName: `Tester${id}`, email: `${id}@example.com`, address: `${id} Test Road`, level };
});
/** A customer the poison deletes with a null value (a tombstone on a table topic). */
const doomed: Customer = { id: uniqueId(), firstName: 'Doomed', lastName: 'Customer', email: 'doomed@example.com', address: 'Nowhere', level: 'bronze' };

const service = (name: ServiceName) => system.processes.find((process) => process.service === name && !process.stopped)!;
const serviceUrl = (name: ServiceName) => `http://127.0.0.1:${service(name).port}`;

/** Waits until `service`'s consumer group has committed past each given offset (so it processed those records). */
async function waitUntilProcessed(name: ServiceName, topic: string, offsets: Array<{ partition: number; offset: number }>): Promise<void> {
  const partitions = new Map([[topic, [...new Set(offsets.map(({ partition }) => partition))]]]);
  await eventually(async () => {
    const committed = (await committedOffsets(system.kafka.admin(), `${system.prefix}${name}`, partitions)).get(topic);
    const at = (partition: number) => committed?.get(partition) ?? -1;
    return offsets.every(({ partition, offset }) => at(partition) > offset) ? true : undefined;
  }, `${name} to process ${topic} up to ${JSON.stringify(offsets)}`, 60_000);
}

/** Writes one record, partitioned by its key as the Java client would (so table rows land with their key's task). */
async function produce(topic: string, key: Buffer, value: Buffer | null): Promise<{ partition: number; offset: number }> {
  // A null value is sent as one (a tombstone): the record leaves it out.
  const { offsets } = await producer.send({ messages: [{ topic, key, ...(value !== null ? { value } : {}) }] });
  const [written] = offsets ?? [];
  return { partition: written!.partition, offset: Number(written!.offset) };
}

async function putCustomer(customer: Customer): Promise<{ partition: number; offset: number }> {
  const serdes = system.serdes[Topics.customers];
  return produce(serdes.topic, serdes.key.serialize(customer.id), await serdes.value.serialize(customer));
}

/** The customer of each valid order. */
const customerOf = new Map<string, (typeof customers)[number]>();

/** Posts valid orders through the API, one per customer in turn. */
async function postOrders(count: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const customer = customers[index % customers.length]!;
    const { status, body } = await system.postOrder({ id: `${tag}-${index}-${uniqueId()}`, customerId: customer.id, product: index % 2 ? 'JUMPERS' : 'UNDERPANTS', quantity: 1, price: 10 });
    expect(status, JSON.stringify(body)).toBe(201);
    ids.push(body.id as string);
    customerOf.set(body.id as string, customer);
  }
  return ids;
}

beforeAll(async () => {
  outbox = await mkdtemp(path.join(os.tmpdir(), 'e2e-poison-outbox-'));
  system = await TestSystem.start({ services, environment: { SMTP_URL: '', OUTBOX_DIR: outbox } });
  producer = system.kafka.producer();
  deadLetters = await TopicRecords.start(system.kafka, services.map(dlqTopic), `${system.prefix}dlq-reader`);
  await system.putStock({ JUMPERS: 1_000_000, UNDERPANTS: 1_000_000, STOCKINGS: 5 });
  // Both services joining orders with customers must know them before the orders come.
  // One after another: the idempotent producer must not have two sends in flight.
  const customerRecords: Array<{ partition: number; offset: number }> = [];
  for (const customer of [...customers, doomed]) customerRecords.push(await putCustomer(customer));
  for (const customer of [...customers, doomed]) {
    await eventually(async () => ((await fetch(`${serviceUrl('email-service')}/v1/customers/${customer.id}`)).ok ? true : undefined), `customer ${customer.id} in email-service`, 60_000);
  }
  await waitUntilProcessed('order-enrichment', system.serdes[Topics.customers].topic, customerRecords);
}, 240_000);

afterAll(async () => {
  await deadLetters?.stop().catch(() => undefined);
  await producer?.close().catch(() => undefined);
  await system?.stop();
  if (outbox) await rm(outbox, { recursive: true, force: true });
}, 60_000);

interface Poison {
  name: string;
  topic: TopicName;
  key: Buffer;
  value: Buffer | null;
  /** What `dlq.error` must say; undefined: not poison (a null value), nobody dead-letters it. */
  error?: RegExp;
}

interface Written extends Poison {
  partition: number;
  offset: number;
}

const ordersBefore: string[] = [];
const ordersAfter: string[] = [];
const written: Written[] = [];

async function poisonRecords(): Promise<Poison[]> {
  const prng = new Prng(0xbad1);
  const { serdes } = system;
  const order: Order = { id: 'poison-order', customerId: customers[0]!.id, state: 'CREATED', product: 'JUMPERS', quantity: 1, price: 1 };
  const payment = { id: 'poison-payment', orderId: 'poison-order', ccy: 'EUR', amount: 1 };
  const validation = { orderId: 'poison-order', checkType: 'FRAUD_CHECK' as const, validationResult: 'PASS' as const };
  /** Bytes that cannot be a Confluent frame: the first byte is not the magic byte 0. */
  const randomBytes = () => {
    const bytes = prng.bytes(prng.int(1, 64));
    bytes[0] = prng.int(1, 255);
    return bytes;
  };
  const unknownSchemaId = Buffer.from([0, ...[0x77, 0x35, 0x94, 0x00], 0x02, 0x61, 0x62]);
  const notUtf8 = Buffer.from([0xc3, 0x28, 0xff]);
  const stringKey = (text: string) => Buffer.from(`${text}-${prng.int(0, 1e9)}`);
  const longKey = (id: number) => serdes[Topics.customers].key.serialize(id);
  /** The cases every Avro-valued topic gets, given a correct value of its own type and one of another type. */
  const avroCases = (topic: TopicName, key: () => Buffer, own: Buffer, foreign: Buffer): Poison[] => [
    { name: 'random bytes', topic, key: key(), value: randomBytes(), error: /magic byte|at least 5 bytes/ },
    { name: 'unknown schema id 2000000000', topic, key: key(), value: unknownSchemaId, error: /schema id 2000000000 is not in the registry/ },
    { name: 'valid Avro of the wrong record type', topic, key: key(), value: foreign, error: /cannot be read as/ },
    { name: 'empty value', topic, key: key(), value: Buffer.alloc(0), error: /at least 5 bytes, got 0/ },
    { name: 'truncated Avro body', topic, key: key(), value: own.subarray(0, 7), error: /cannot decode .*truncated/ },
    { name: 'Avro body with trailing bytes', topic, key: key(), value: Buffer.concat([own, Buffer.from([1, 2, 3])]), error: /trailing data/ },
    { name: 'null value', topic, key: key(), value: null },
  ];
  const ownOrder = await serdes[Topics.orders].value.serialize(order);
  const ownValidation = await serdes[Topics.orderValidations].value.serialize(validation);
  const ownPayment = await serdes[Topics.payments].value.serialize(payment);
  const ownCustomer = await serdes[Topics.customers].value.serialize({ ...doomed, id: 1 });
  const inventory = serdes[Topics.warehouseInventory];
  return [
    ...avroCases(Topics.orders, () => stringKey('poison'), ownOrder, ownPayment),
    { name: 'key not UTF-8', topic: Topics.orders, key: notUtf8, value: ownOrder, error: /expected UTF-8 text/ },
    ...avroCases(Topics.orderValidations, () => stringKey('poison'), ownValidation, ownOrder),
    { name: 'key not UTF-8', topic: Topics.orderValidations, key: notUtf8, value: ownValidation, error: /expected UTF-8 text/ },
    ...avroCases(Topics.payments, () => stringKey('poison-payment'), ownPayment, ownValidation),
    { name: 'key not UTF-8', topic: Topics.payments, key: notUtf8, value: ownPayment, error: /expected UTF-8 text/ },
    ...avroCases(Topics.customers, () => longKey(uniqueId()), ownCustomer, ownPayment).map((poison) =>
      // A null value for a customer is a delete: aim it at the doomed customer.
      poison.value === null ? { ...poison, key: longKey(doomed.id) } : poison,
    ),
    { name: 'key of 4 bytes instead of 8', topic: Topics.customers, key: Buffer.from([0, 0, 0, 7]), value: ownCustomer, error: /a long must be exactly 8 bytes, got 4/ },
    // The stock values are 4-byte ints: any other size is poison, and must not touch the stock of the product.
    { name: 'value of 3 bytes', topic: Topics.warehouseInventory, key: inventory.key.serialize('UNDERPANTS'), value: Buffer.from([0, 0, 1]), error: /an int must be exactly 4 bytes, got 3/ },
    { name: 'value of 8 bytes', topic: Topics.warehouseInventory, key: inventory.key.serialize('JUMPERS'), value: Buffer.alloc(8, 1), error: /an int must be exactly 4 bytes, got 8/ },
    { name: 'empty value', topic: Topics.warehouseInventory, key: inventory.key.serialize('JUMPERS'), value: Buffer.alloc(0), error: /an int must be exactly 4 bytes, got 0/ },
    { name: 'key not UTF-8', topic: Topics.warehouseInventory, key: notUtf8, value: inventory.value.serialize(1), error: /expected UTF-8 text/ },
    // A null value deletes the product's stock row.
    { name: 'null value', topic: Topics.warehouseInventory, key: inventory.key.serialize('STOCKINGS'), value: null },
  ];
}

/**
 * The states on orders.v1 of the given orders, in order, once each has a final one and the
 * topic is read to its end. (TestSystem.orderHistory cannot be used here: its reader stops at
 * the first record it cannot decode, and orders.v1 now holds poison.)
 */
async function orderStates(ids: string[]): Promise<Map<string, string[]>> {
  const serdes = system.serdes[Topics.orders];
  const reader = await TopicRecords.start(system.kafka, [serdes.topic], `${system.prefix}history-${uniqueId()}`);
  const states = new Map<string, string[]>(ids.map((id) => [id, []]));
  let decoded = 0;
  const decodeNew = async () => {
    for (; decoded < reader.records.length; decoded += 1) {
      const { key, value } = reader.records[decoded]!;
      const id = key?.toString('utf8') ?? '';
      if (!states.has(id) || !value) continue;
      states.get(id)!.push((await serdes.value.deserialize(value)).state);
    }
  };
  try {
    await eventually(async () => {
      await decodeNew();
      return ids.every((id) => states.get(id)!.some((state) => state !== 'CREATED')) ? true : undefined;
    }, 'a final state for every order', 60_000);
    await reader.caughtUp();
    await decodeNew();
  } finally {
    await reader.stop();
  }
  return states;
}

describe('poison records on every input topic, with the whole system running', () => {
  it('completes valid orders posted before the poison', async () => {
    ordersBefore.push(...(await postOrders(12, 'before')));
    const finals = await Promise.all(ordersBefore.map((id) => system.getOrder(id, { validated: true, timeoutMs: 60_000 })));
    expect(finals.map(({ body }) => body.state)).toEqual(ordersBefore.map(() => 'VALIDATED'));
  });

  it('dead-letters each poison record in every service reading its topic, with the reason and where it came from', async () => {
    const poisons = await poisonRecords();
    for (const poison of poisons) {
      const { partition, offset } = await produce(system.serdes[poison.topic].topic, poison.key, poison.value);
      written.push({ ...poison, partition, offset });
    }
    // Every reader got past every poison record (the committed offsets say so)...
    for (const [topic, names] of Object.entries(readers) as Array<[TopicName, ServiceName[]]>) {
      const offsets = written.filter((record) => record.topic === topic).map(({ partition, offset }) => ({ partition, offset }));
      const realTopic = system.serdes[topic].topic;
      await Promise.all(names.map((name) => waitUntilProcessed(name, realTopic, offsets)));
    }
    // ...so its dead letters, committed with those offsets, are all there to read.
    await deadLetters.caughtUp();

    const where = (topic: string, partition: number | string, offset: number | string) => `${topic}/${partition}/${offset}`;
    const summary: Record<string, number> = {};
    for (const name of services) {
      const expected = written.filter((record) => record.error && readers[record.topic]?.includes(name));
      const found = deadLetters.of(dlqTopic(name));
      summary[name] = found.length;
      const realTopic = (record: Written) => system.serdes[record.topic].topic;
      expect(found.map(({ headers }) => where(headers['dlq.topic']!, headers['dlq.partition']!, headers['dlq.offset']!)).sort(), `dead letters of ${name}`).toEqual(
        expected.map((record) => where(realTopic(record), record.partition, record.offset)).sort(),
      );
      for (const record of expected) {
        const letter = found.find(({ headers }) => headers['dlq.topic'] === realTopic(record) && headers['dlq.offset'] === String(record.offset) && headers['dlq.partition'] === String(record.partition))!;
        const context = `${name}: ${record.topic} ${record.name}: ${JSON.stringify(letter.headers)}`;
        expect(letter.headers['dlq.stage'], context).toBe('deserialization');
        expect(letter.headers['dlq.application'], context).toBe(`${system.prefix}${name}`);
        expect(letter.headers['dlq.error'], context).toMatch(record.error!);
        // The record is kept byte for byte, so it can be inspected and replayed.
        expect(letter.key?.equals(record.key), context).toBe(true);
        expect(Buffer.from(letter.value ?? []).equals(record.value!), context).toBe(true);
      }
    }
    console.log(
      `poison records: ${written.length} written (${written.filter((record) => !record.error).length} null values), dead-lettered per service: ${JSON.stringify(summary)}`,
    );
    const reasons = deadLetters.of(dlqTopic('validation-aggregator')).map(({ headers }) => `  ${headers['dlq.topic']!.slice(system.prefix.length)}: ${headers['dlq.error']}`);
    console.log(`dead-letter reasons in validation-aggregator.dlq:\n${reasons.join('\n')}`);
  });

  it('takes a null value on a table topic as a delete and leaves other rows alone', async () => {
    // warehouse-inventory.v1: STOCKINGS' row is gone (no row counts as stock 0); the poisoned products keep their stock.
    const stock = await eventually(async () => {
      const rows = (await (await fetch(`${serviceUrl('inventory-service')}/v1/stock`)).json()) as Array<{ product: string; stock: number }>;
      return rows.find((row) => row.product === 'STOCKINGS')?.stock === 0 ? rows : undefined;
    }, 'STOCKINGS deleted from the inventory', 60_000);
    expect(stock.find((row) => row.product === 'UNDERPANTS')?.stock).toBe(1_000_000);
    expect(stock.find((row) => row.product === 'JUMPERS')?.stock).toBe(1_000_000);
    // customers (a global table in email-service): the doomed customer is gone, the others stay.
    await eventually(async () => ((await fetch(`${serviceUrl('email-service')}/v1/customers/${doomed.id}`)).status === 404 ? true : undefined), 'the doomed customer deleted', 60_000);
    for (const customer of customers) expect((await fetch(`${serviceUrl('email-service')}/v1/customers/${customer.id}`)).status).toBe(200);
  });

  it('skips unreadable records of the customers global table in email-service with a warning naming each one', async () => {
    // A global table is no task: it has no dead-letter path in the runtime; it logs and skips (see the report).
    const topic = system.serdes[Topics.customers].topic;
    const unreadable = written.filter((record) => record.topic === Topics.customers && record.error);
    expect(unreadable.length).toBeGreaterThan(0);
    // The runtime logs the offset as it reads it: a number (kafkajs gave strings).
    type Warning = { msg?: string; topic?: string; partition?: number; offset?: number | string; error?: string };
    const parse = (line: string): Warning | undefined => {
      try {
        return JSON.parse(line) as Warning;
      } catch {
        return undefined; // not a log record (or the start of one the output buffer dropped)
      }
    };
    const warnings = () =>
      service('email-service')
        .output.join('')
        .split('\n')
        .map(parse)
        .filter((warning): warning is Warning => warning?.msg === 'a table record that can never be read is skipped');
    await eventually(async () => (unreadable.every((record) => warnings().some((warning) => warning.topic === topic && warning.partition === record.partition && String(warning.offset) === String(record.offset))) ? true : undefined), 'a warning for each unreadable customers record');
    for (const record of unreadable) {
      const warning = warnings().find((candidate) => candidate.partition === record.partition && String(candidate.offset) === String(record.offset))!;
      expect(warning.error, record.name).toMatch(record.error!);
    }
  });

  it('completes valid orders posted after the poison; every order has exactly one final state and flows through enrichment and email', async () => {
    ordersAfter.push(...(await postOrders(12, 'after')));
    const all = [...ordersBefore, ...ordersAfter];
    const history = await orderStates(all);
    for (const id of all) expect(history.get(id), id).toEqual(['CREATED', 'VALIDATED']);

    // email-service routed each order once to its customer's level topic; order-enrichment enriched each once.
    const levelTopics = customerLevels.map((level) => system.serdes[customerLevelTopic(level)].topic);
    const enrichedTopic = system.serdes[Topics.ordersEnriched].topic;
    const outputs = await TopicRecords.start(system.kafka, [...levelTopics, enrichedTopic], `${system.prefix}outputs-reader`);
    try {
      const ids = (topics: string[], records: TopicRecord[]) => records.filter((record) => topics.includes(record.topic)).map((record) => record.key!.toString('utf8'));
      await outputs.waitFor('every order routed and enriched', (records) => all.every((id) => ids(levelTopics, records).includes(id) && ids([enrichedTopic], records).includes(id)));
      await outputs.caughtUp();
      for (const id of all) {
        const { level } = customerOf.get(id)!;
        const routed = outputs.records.filter((record) => levelTopics.includes(record.topic) && record.key!.toString('utf8') === id);
        expect(routed.map((record) => record.topic), id).toEqual([system.serdes[customerLevelTopic(level)].topic]);
        const enriched = outputs.records.filter((record) => record.topic === enrichedTopic && record.key!.toString('utf8') === id);
        expect(enriched, id).toHaveLength(1);
        expect(await system.serdes[Topics.ordersEnriched].value.deserialize(enriched[0]!.value!), id).toMatchObject({ id, customerLevel: level } satisfies Partial<OrderEnriched>);
      }
    } finally {
      await outputs.stop();
    }

    // payments.v1 still flows after its poison: a payment for an order sends its email.
    const paid = ordersAfter.slice(0, 2);
    const payments = system.serdes[Topics.payments];
    for (const orderId of paid) await produce(payments.topic, payments.key.serialize(`pay-${orderId}`), await payments.value.serialize({ id: `pay-${orderId}`, orderId, ccy: 'EUR', amount: 10 }));
    await eventually(async () => {
      const files = await readdir(outbox);
      return paid.every((id) => files.includes(`order-${id}.eml`)) ? files : undefined;
    }, 'the emails of the paid orders', 60_000);

    // No valid order was dead-lettered anywhere on the way.
    await deadLetters.caughtUp();
    const poisonCount = (name: ServiceName) => written.filter((record) => record.error && readers[record.topic]?.includes(name)).length;
    for (const name of services) expect(deadLetters.of(dlqTopic(name)), name).toHaveLength(poisonCount(name));
  });

  it('kept every process up', async () => {
    for (const process of system.processes) {
      expect(process.child.exitCode, `${process.service}:\n${process.output.join('').slice(-2_000)}`).toBeNull();
      expect((await fetch(`http://127.0.0.1:${process.port}/health`)).status, process.service).toBe(200);
    }
  });
});
