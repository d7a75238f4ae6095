import { longSerde, Topics, type Order, type OrderValidation, type OrderValue } from '@ecosystem/avro';
import { jsonTopicSerdes } from '@ecosystem/avro/testing';
import { loadConfig } from '@ecosystem/platform';
import type { ReadOnlySessionStore, Session } from 'kstreams';
import { TopologyTestDriver } from 'kstreams/test-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { fraudConfig, type FraudSettings } from '../src/config.ts';
import { fraudTopology } from '../src/topology.ts';

/**
 * The fraud validator in the test driver. Orders (keyed by order id, so one customer's orders
 * sit in different partitions) are re-keyed by customer id through
 * `<app>-orders-by-customer-repartition` with the 8-byte long key, so all of a customer's orders
 * meet in one task's session store; each verdict goes back out keyed by order id. Values travel
 * as JSON (no registry). With three partitions, customer 7 lives in partition 2, customer 3 in 1.
 */
const serdes = jsonTopicSerdes();
const partitions = 3;
const applicationId = 'fraud-test';
const repartitionTopic = `${applicationId}-orders-by-customer-repartition`;
const sessionStore = 'customer-session-totals';
const minute = 60_000;
const t0 = 1_700_000_000_000;

/** The service's defaults (no environment), mapped as main.ts maps them. */
const config = loadConfig(fraudConfig, {});
const settings: FraudSettings = { sessionGapMs: config.FRAUD_SESSION_GAP_MS, graceMs: config.FRAUD_GRACE_MS, threshold: config.FRAUD_THRESHOLD };

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

/** An order worth `value` (quantity 1 × price). */
const order = (id: string, customerId: number, value: number, state: Order['state'] = 'CREATED'): Order => ({ id, customerId, state, product: 'JUMPERS', quantity: 1, price: value });
const check = (orderId: string, validationResult: OrderValidation['validationResult']): OrderValidation => ({ orderId, checkType: 'FRAUD_CHECK', validationResult });

async function start() {
  driver = await TopologyTestDriver.create(fraudTopology(serdes, settings), { partitions, applicationId });
  const d = driver;
  const orders = d.inputTopic(serdes[Topics.orders].topic, serdes[Topics.orders]);
  const validations = d.outputTopic(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations]);
  /** All sessions of a customer in one partition's store, oldest end first. */
  const sessions = async (customerId: number, partition: number) => {
    const found: Array<Session<OrderValue>> = [];
    for await (const session of d.store<ReadOnlySessionStore<number, OrderValue>>(sessionStore, partition).fetch(customerId)) found.push(session);
    return found;
  };
  return {
    d,
    orders,
    sessions,
    putOrder: (value: Order, timestamp: number) => orders.pipe(value.id, value, timestamp),
    verdicts: async () => (await validations.readRecords()).map(({ key, value, partition, timestamp }) => ({ key, value, partition, timestamp })),
    orderPartition: (orderId: string) => d.partitionOf(serdes[Topics.orders].key.serialize(orderId)),
    customerPartition: (customerId: number) => d.partitionOf(longSerde.serialize(customerId)),
  };
}

describe('fraud topology', () => {
  it('runs with the defaults of config.ts: 1-hour sessions, 1 day of grace, threshold 2000', () => {
    expect(settings).toEqual({ sessionGapMs: 60 * minute, graceMs: 24 * 60 * minute, threshold: 2000 });
  });

  it('fails the order that takes its customer to 2000 within the hour and every later one; other customers are judged on their own', async () => {
    const { d, putOrder, verdicts, sessions, orderPartition, customerPartition } = await start();
    await putOrder(order('order-1', 7, 800), t0);
    await putOrder(order('order-2', 7, 900), t0 + 10 * minute); // 1700
    await putOrder(order('order-5', 3, 100), t0 + 15 * minute);
    await putOrder(order('order-3', 7, 300), t0 + 20 * minute); // 2000: crosses
    await putOrder(order('order-4', 7, 5), t0 + 30 * minute); // 2005

    // Each verdict is keyed by its order id and lands in that order's partition (where the aggregator meets it).
    expect(await verdicts()).toEqual([
      { key: 'order-1', value: check('order-1', 'PASS'), partition: 1, timestamp: t0 },
      { key: 'order-2', value: check('order-2', 'PASS'), partition: 0, timestamp: t0 + 10 * minute },
      { key: 'order-5', value: check('order-5', 'PASS'), partition: 2, timestamp: t0 + 15 * minute },
      { key: 'order-3', value: check('order-3', 'FAIL'), partition: 0, timestamp: t0 + 20 * minute },
      { key: 'order-4', value: check('order-4', 'FAIL'), partition: 2, timestamp: t0 + 30 * minute },
    ]);
    expect(['order-1', 'order-2', 'order-5', 'order-3', 'order-4'].map(orderPartition)).toEqual([1, 0, 2, 0, 2]);

    // Customer 7's orders came from partitions 1, 0, 0 and 2 and all crossed to partition 2, keyed by the 8-byte long 7.
    expect(d.rawRecords(repartitionTopic).map((record) => [record.key!.toString('hex'), record.partition])).toEqual([
      ['0000000000000007', 2],
      ['0000000000000007', 2],
      ['0000000000000003', 1],
      ['0000000000000007', 2],
      ['0000000000000007', 2],
    ]);
    expect([customerPartition(7), customerPartition(3)]).toEqual([2, 1]);

    // One session per customer, in the customer's partition, speaking for its latest order.
    expect(await sessions(7, 2)).toEqual([{ start: t0, end: t0 + 30 * minute, value: { order: order('order-4', 7, 5), value: 2005 } }]);
    expect(await sessions(3, 1)).toEqual([{ start: t0 + 15 * minute, end: t0 + 15 * minute, value: { order: order('order-5', 3, 100), value: 100 } }]);
    expect([await sessions(7, 0), await sessions(7, 1), await sessions(3, 0), await sessions(3, 2)]).toEqual([[], [], [], []]);
  });

  it('starts a new session, and a new total, after a quiet hour', async () => {
    const { putOrder, verdicts, sessions } = await start();
    await putOrder(order('order-1', 7, 1500), t0);
    await putOrder(order('order-2', 7, 600), t0 + 30 * minute); // 2100
    await putOrder(order('order-3', 7, 600), t0 + 90 * minute + 1); // more than an hour after order-2: 600
    expect((await verdicts()).map(({ key, value }) => [key, value?.validationResult])).toEqual([
      ['order-1', 'PASS'],
      ['order-2', 'FAIL'],
      ['order-3', 'PASS'],
    ]);
    expect(await sessions(7, 2)).toEqual([
      { start: t0, end: t0 + 30 * minute, value: { order: order('order-2', 7, 600), value: 2100 } },
      { start: t0 + 90 * minute + 1, end: t0 + 90 * minute + 1, value: { order: order('order-3', 7, 600), value: 600 } },
    ]);
  });

  it('counts only CREATED orders: the final states written back to orders.v1 and tombstones add nothing and get no verdict', async () => {
    const { d, orders, putOrder, verdicts, sessions } = await start();
    await putOrder(order('order-1', 7, 1500), t0);
    await putOrder(order('order-1', 7, 1500, 'VALIDATED'), t0 + 1);
    await putOrder(order('order-2', 7, 1500, 'FAILED'), t0 + 2);
    await orders.pipe('order-3', null, t0 + 3);
    await putOrder(order('order-4', 7, 400), t0 + 4); // 1900, not 3400 or 4900
    expect((await verdicts()).map(({ key, value }) => [key, value?.validationResult])).toEqual([
      ['order-1', 'PASS'],
      ['order-4', 'PASS'],
    ]);
    expect(d.rawRecords(repartitionTopic)).toHaveLength(2);
    expect(await sessions(7, 2)).toEqual([{ start: t0, end: t0 + 4, value: { order: order('order-4', 7, 400), value: 1900 } }]);
  });

  it('merges the two sessions an order arrives between: it is judged on the merged total; the merged-away sessions write nothing', async () => {
    const { putOrder, verdicts, sessions } = await start();
    await putOrder(order('order-1', 7, 1500), t0);
    await putOrder(order('order-2', 7, 1000), t0 + 90 * minute); // a session of its own
    await putOrder(order('order-3', 7, 10), t0 + 45 * minute); // within an hour of both: one session of 2510
    expect((await verdicts()).map(({ key, value }) => [key, value?.validationResult])).toEqual([
      ['order-1', 'PASS'],
      ['order-2', 'PASS'],
      ['order-3', 'FAIL'],
    ]);
    expect(await sessions(7, 2)).toEqual([{ start: t0, end: t0 + 90 * minute, value: { order: order('order-3', 7, 10), value: 2510 } }]);
  });
});
