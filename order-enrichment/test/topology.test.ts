import type { Customer, Order, OrderEnriched } from '@ecosystem/avro';
import { jsonSerde, longSerde, partitionForKey, stringSerde, type ReadOnlyWindowStore, type StreamRecord } from 'kstreams';
import { TopologyTestDriver } from 'kstreams/test-driver';
import { afterEach, describe, expect, it } from 'vitest';
import type { FraudCount } from '../src/rules.ts';
import { enrichmentTopology, fraudCountsStore, fraudRowsOf, ordersByCustomer, type EnrichmentTopics } from '../src/topology.ts';

/**
 * The local engine's topology in the test driver. Values travel as JSON here (the Avro serdes
 * need a registry; the e2e test covers them); keys use the real byte formats, and three
 * partitions show that re-keyed orders meet their customer's partition.
 */
const topics: EnrichmentTopics = {
  orders: { topic: 'orders.v1', key: stringSerde, value: jsonSerde<Order>() },
  customers: { topic: 'customers', key: longSerde, value: jsonSerde<Customer>() },
  ordersEnriched: { topic: 'orders-enriched.v1', key: stringSerde, value: jsonSerde<OrderEnriched>() },
};
const partitions = 3;
const window = 1_700_000_010_000; // a window start (a multiple of 30 000)

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

const customer = (id: number, level: string, firstName = `First${id}`): Customer => ({ id, firstName, lastName: `Last${id}`, email: `c${id}@example.com`, address: `${id} Main St`, level });
let orderNumber = 0;
const order = (customerId: number, state: Order['state'] = 'CREATED', id = `order-${(orderNumber += 1)}`): Order => ({ id, customerId, state, product: 'JUMPERS', quantity: 1, price: 10 });

async function start() {
  const late: number[] = [];
  driver = await TopologyTestDriver.create(
    enrichmentTopology(topics, { onLateOrder: (record: StreamRecord<unknown, unknown>) => late.push(record.timestamp) }),
    { partitions, applicationId: 'enrichment-test' },
  );
  const d = driver;
  const customers = d.inputTopic(topics.customers.topic, topics.customers);
  const orders = d.inputTopic(topics.orders.topic, topics.orders);
  return {
    d,
    late,
    putCustomer: (value: Customer) => customers.pipe(value.id, value, window - 60_000),
    putOrder: (value: Order, timestamp: number) => orders.pipe(value.id, value, timestamp),
    enriched: d.outputTopic(topics.ordersEnriched.topic, topics.ordersEnriched),
    fraud: (limit = 100) => fraudRowsOf(Array.from({ length: partitions }, (_, partition) => d.store<ReadOnlyWindowStore<number, FraudCount>>(fraudCountsStore, partition)), limit),
  };
}

describe('the enriched view', () => {
  it("writes each CREATED order once to orders-enriched.v1, keyed by order id, with its customer's level", async () => {
    const { putCustomer, putOrder, enriched } = await start();
    await putCustomer(customer(1, 'platinum'));
    await putCustomer(customer(2, 'silver'));
    const first = order(1);
    const second = order(2);
    await putOrder(first, window);
    await putOrder(second, window + 1);
    await putOrder({ ...first, state: 'VALIDATED' }, window + 2);
    await putOrder({ ...second, state: 'FAILED' }, window + 3);
    expect(await enriched.readKeyValues()).toEqual([
      [first.id, { id: first.id, customerId: 1, customerLevel: 'platinum' }],
      [second.id, { id: second.id, customerId: 2, customerLevel: 'silver' }],
    ]);
  });

  it("gives an order of an unknown customer the level 'unknown', and the customer's latest level once known", async () => {
    const { putCustomer, putOrder, enriched } = await start();
    const early = order(3);
    await putOrder(early, window);
    await putCustomer(customer(3, 'bronze'));
    await putCustomer(customer(3, 'gold'));
    const later = order(3);
    await putOrder(later, window + 1);
    expect(await enriched.readKeyValues()).toEqual([
      [early.id, { id: early.id, customerId: 3, customerLevel: 'unknown' }],
      [later.id, { id: later.id, customerId: 3, customerLevel: 'gold' }],
    ]);
  });

  it('re-keys orders by customer id with the 8-byte long serde, into the partition holding the customer', async () => {
    const { d, putCustomer, putOrder } = await start();
    for (const id of [11, 12, 13, 14, 15]) {
      await putCustomer(customer(id, 'gold'));
      await putOrder(order(id), window);
    }
    const repartitioned = d.rawRecords(d.internalTopic(`${ordersByCustomer}-repartition`));
    const customers = d.rawRecords(topics.customers.topic);
    expect(repartitioned).toHaveLength(5);
    for (const record of repartitioned) {
      expect(record.key).toEqual(longSerde.serialize(longSerde.deserialize(record.key!)));
      expect(record.key).toHaveLength(8);
      const own = customers.find((candidate) => candidate.key!.equals(record.key!));
      expect(record.partition).toBe(own!.partition);
    }
  });
});

describe('the fraud table', () => {
  it('lists a customer with 3 orders in one window, not one with 2, nor VALIDATED/FAILED records of the same orders', async () => {
    const { putCustomer, putOrder, fraud } = await start();
    await putCustomer(customer(21, 'gold', 'Grace'));
    await putCustomer(customer(22, 'silver'));
    for (const offset of [1_000, 2_000, 3_000]) await putOrder(order(21), window + offset);
    for (const offset of [1_000, 2_000]) {
      const placed = order(22);
      await putOrder(placed, window + offset);
      await putOrder({ ...placed, state: 'VALIDATED' }, window + offset + 500);
      await putOrder({ ...placed, state: 'FAILED' }, window + offset + 600);
    }
    expect(await fraud()).toEqual([{ customerId: 21, firstName: 'Grace', lastName: 'Last21', counts: 3, windowStart: window, windowEnd: window + 30_000 }]);
  });

  it('counts orders at t, t+10s, t+29.999s in one window (fraud) and t, t+10s, t+30s in two (not fraud)', async () => {
    const { putCustomer, putOrder, fraud } = await start();
    await putCustomer(customer(31, 'platinum'));
    await putCustomer(customer(32, 'bronze'));
    for (const offset of [0, 10_000, 29_999]) await putOrder(order(31), window + offset);
    for (const offset of [0, 10_000, 30_000]) await putOrder(order(32), window + offset);
    expect(await fraud()).toEqual([{ customerId: 31, firstName: 'First31', lastName: 'Last31', counts: 3, windowStart: window, windowEnd: window + 30_000 }]);
  });

  it('answers newest windows first, at most limit rows, and counts orders of unknown customers without names', async () => {
    const { putCustomer, putOrder, fraud } = await start();
    await putCustomer(customer(41, 'gold'));
    for (const offset of [0, 1, 2]) await putOrder(order(41), window + offset);
    for (const offset of [0, 1, 2, 3]) await putOrder(order(42), window + 60_000 + offset);
    const rows = await fraud();
    expect(rows).toEqual([
      { customerId: 42, firstName: null, lastName: null, counts: 4, windowStart: window + 60_000, windowEnd: window + 90_000 },
      { customerId: 41, firstName: 'First41', lastName: 'Last41', counts: 3, windowStart: window, windowEnd: window + 30_000 },
    ]);
    expect(await fraud(1)).toEqual(rows.slice(0, 1));
  });

  it('still counts an order up to an hour late, and drops (and reports) one later than that', async () => {
    const { putCustomer, putOrder, fraud, late } = await start();
    const partitionOf = (customerId: number) => partitionForKey(longSerde.serialize(customerId), partitions);
    // Stream time is per task: a customer of the same partition moves it on.
    let neighbour = 52;
    while (partitionOf(neighbour) !== partitionOf(51)) neighbour += 1;
    await putCustomer(customer(51, 'gold'));
    for (const offset of [0, 1]) await putOrder(order(51), window + offset);
    await putOrder(order(neighbour), window + 50 * 60_000);
    await putOrder(order(51), window + 2);
    expect((await fraud()).map((row) => [row.customerId, row.counts])).toEqual([[51, 3]]);
    await putOrder(order(neighbour), window + 2 * 60 * 60_000);
    await putOrder(order(51), window + 3);
    expect(late).toEqual([window + 3]);
    expect((await fraud()).map((row) => [row.customerId, row.counts])).toEqual([[51, 3]]);
  });
});
