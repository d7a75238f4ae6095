import { Topics, type Customer, type Order, type OrderEnriched } from '@ecosystem/avro';
import { allPartitions, committedOffsets, endOffsets } from 'kstreams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSystem } from './system.ts';

/**
 * The order-enrichment service as its own process (local engine) on the real broker and
 * registry: customers and orders are produced with the system's serdes and explicit record
 * timestamps, so window edges are exact.
 */
let system: TestSystem;

beforeAll(async () => {
  system = await TestSystem.start({ services: ['order-enrichment'] });
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

const windowMs = 30_000;
/** A window start ten minutes ago: well inside the one-hour grace, however the tests interleave. */
const t = Math.floor((Date.now() - 10 * 60_000) / windowMs) * windowMs;
const uniqueId = () => 1_000 + Math.floor(Math.random() * 1_000_000_000);

const customer = (level: string, firstName: string): Customer => {
  const id = uniqueId();
  return { id, firstName, lastName: `Tester${id}`, email: `${id}@example.com`, address: `${id} Test Road`, level };
};
const order = (customerId: number, state: Order['state'] = 'CREATED'): Order => ({ id: `order-${uniqueId()}`, customerId, state, product: 'JUMPERS', quantity: 1, price: 10 });

const url = (instance = 0) => {
  const process = system.processes.find((candidate) => candidate.service === 'order-enrichment' && candidate.instance === instance);
  if (!process) throw new Error(`no order-enrichment instance ${instance}`);
  return `http://127.0.0.1:${process.port}`;
};
const groupId = () => `${system.prefix}order-enrichment`;

async function produce(topic: string, messages: Array<{ key: Buffer; value: Buffer; timestamp?: number }>): Promise<void> {
  const producer = system.kafka.producer();
  try {
    await producer.send({ messages: messages.map(({ key, value, timestamp }) => ({ topic, key, value, ...(timestamp !== undefined ? { timestamp: BigInt(timestamp) } : {}) })) });
  } finally {
    await producer.close();
  }
}

async function putCustomers(customers: Customer[]): Promise<void> {
  const serdes = system.serdes[Topics.customers];
  await produce(serdes.topic, await Promise.all(customers.map(async (value) => ({ key: serdes.key.serialize(value.id), value: await serdes.value.serialize(value) }))));
}

async function putOrders(orders: Array<[Order, number]>): Promise<void> {
  const serdes = system.serdes[Topics.orders];
  await produce(serdes.topic, await Promise.all(orders.map(async ([value, timestamp]) => ({ key: serdes.key.serialize(value.id), value: await serdes.value.serialize(value), timestamp }))));
}

/** Waits until the service's consumer group has committed every record of `topic` (it commits once processed). */
async function waitUntilConsumed(topic: string, timeoutMs = 60_000): Promise<void> {
  const admin = system.kafka.admin();
  const partitions = await allPartitions(admin, [topic]);
  const ends = [...((await endOffsets(admin, partitions, false)).get(topic) ?? [])];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = (await committedOffsets(admin, groupId(), partitions)).get(topic);
    const behind = ends.filter(([partition, offset]) => Math.max(committed?.get(partition) ?? -1, 0) < offset);
    if (behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`the service did not consume ${topic} within ${timeoutMs} ms (partitions behind: ${behind.map(([partition]) => partition).join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function enrichedRecords(orderIds: string[]): Promise<Array<{ key: string; value: OrderEnriched }>> {
  const serdes = system.serdes[Topics.ordersEnriched];
  const wanted = new Set(orderIds);
  const records = await system.read(serdes.topic, (value) => serdes.value.deserialize(value), (seen) => orderIds.every((id) => seen.some(({ key }) => key === id)));
  return records.filter(({ key }) => wanted.has(key));
}

async function fraud(query = '', instance = 0): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${url(instance)}/fraud${query}`);
  return { status: response.status, body: await response.json() };
}

const ada = customer('gold', 'Ada');
const bob = customer('silver', 'Bob');
const cleo = customer('platinum', 'Cleo');
const dan = customer('bronze', 'Dan');
const stranger = uniqueId(); // never on the customers topic

/** Ada: 3 orders in the window starting at t + 60s. Bob: 2 orders there, each also VALIDATED or FAILED later. */
const adaOrders = [1_000, 2_000, 3_000].map((offset): [Order, number] => [order(ada.id), t + 60_000 + offset]);
const bobOrders = [1_000, 2_000].map((offset): [Order, number] => [order(bob.id), t + 60_000 + offset]);
const bobFinals = bobOrders.map(([placed, timestamp], index): [Order, number] => [{ ...placed, state: index === 0 ? 'VALIDATED' : 'FAILED' }, timestamp + 5_000]);
/** Window edges, t aligned to a window start: Cleo at t, t+10s, t+29.999s (one window); Dan at t, t+10s, t+30s (two). */
const cleoOrders = [0, 10_000, 29_999].map((offset): [Order, number] => [order(cleo.id), t + offset]);
const danOrders = [0, 10_000, 30_000].map((offset): [Order, number] => [order(dan.id), t + offset]);
const strangerOrders: Array<[Order, number]> = [[order(stranger), t + 1_000]];
const created = [...adaOrders, ...bobOrders, ...cleoOrders, ...danOrders, ...strangerOrders];

const adaRow = { customerId: ada.id, firstName: 'Ada', lastName: ada.lastName, counts: 3, windowStart: t + 60_000, windowEnd: t + 90_000 };
const cleoRow = { customerId: cleo.id, firstName: 'Cleo', lastName: cleo.lastName, counts: 3, windowStart: t, windowEnd: t + 30_000 };

describe('order-enrichment (local engine)', () => {
  beforeAll(async () => {
    await putCustomers([ada, bob, cleo, dan]);
    // The join sees a customer only once the service has read it.
    await waitUntilConsumed(system.serdes[Topics.customers].topic);
    await putOrders([...created, ...bobFinals]);
    await waitUntilConsumed(system.serdes[Topics.orders].topic);
  }, 120_000);

  it("writes every CREATED order once to orders-enriched.v1 with its customer's level ('unknown' without a customer)", async () => {
    const records = await enrichedRecords(created.map(([placed]) => placed.id));
    const levels = new Map([ada, bob, cleo, dan].map((known) => [known.id, known.level]));
    expect(records).toHaveLength(created.length);
    for (const [placed] of created) {
      expect(records.find(({ key }) => key === placed.id)?.value).toEqual({ id: placed.id, customerId: placed.customerId, customerLevel: levels.get(placed.customerId) ?? 'unknown' });
    }
  });

  it('lists 3 orders within 30 s as fraud and 2 as not, at t, t+10s, t+29.999s as fraud and t, t+10s, t+30s as not, newest window first', async () => {
    // Every order was processed (consumed above, and enriched in the same step as it is counted).
    await enrichedRecords(created.map(([placed]) => placed.id));
    const { status, body } = await fraud();
    expect(status).toBe(200);
    expect(body).toEqual([adaRow, cleoRow]);
  });

  it('answers at most limit rows and 400 for a bad limit', async () => {
    await enrichedRecords(created.map(([placed]) => placed.id));
    expect(await fraud('?limit=1')).toEqual({ status: 200, body: [adaRow] });
    for (const bad of ['0', 'x', '-3', '100000']) {
      const { status, body } = await fraud(`?limit=${bad}`);
      expect(status).toBe(400);
      expect(body).toMatchObject({ error: 'invalid limit', fields: { limit: expect.any(String) } });
    }
  });

  it('gives the whole fraud table from every instance once a second instance shares the partitions', async () => {
    await enrichedRecords(created.map(([placed]) => placed.id));
    await system.startService('order-enrichment', 1);
    await system.waitUntilReady();
    const deadline = Date.now() + 60_000;
    const answers = async () => Promise.all([fraud('', 0), fraud('', 1)]);
    let latest = await answers();
    // While the group rebalances an instance answers 503 (never a partial table): retry until both answer.
    while (latest.some(({ status }) => status === 503) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      latest = await answers();
    }
    expect(latest).toEqual([
      { status: 200, body: [adaRow, cleoRow] },
      { status: 200, body: [adaRow, cleoRow] },
    ]);
    // Each instance holds a part of the table (its tasks), and neither holds both rows unless the other holds none:
    // so at least one of the full answers above came from asking the other instance.
    const health = await Promise.all([0, 1].map(async (instance) => (await fetch(`${url(instance)}/health`)).json() as Promise<{ tasks: string[] }>));
    expect(health.every(({ tasks }) => tasks.length > 0)).toBe(true);
    const shares = await Promise.all([0, 1].map(async (instance) => (await fetch(`${url(instance)}/fraud/instance`)).json() as Promise<unknown[]>));
    expect(shares.flat()).toHaveLength(2);
  });
});
