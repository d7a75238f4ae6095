import { Topics, type Order, type OrderValidation } from '@ecosystem/avro';
import { jsonTopicSerdes } from '@ecosystem/avro/testing';
import type { ReadOnlyKeyValueStore } from 'kstreams';
import { TopologyTestDriver } from 'kstreams/test-driver';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrderChecks } from '../src/rules.ts';
import { aggregatorTopology, checksStore } from '../src/topology.ts';

/**
 * The validation aggregator in the test driver. CREATED orders (orders.v1) and check results
 * (order-validations.v1) are both keyed by order id and co-partitioned, so one task folds all of
 * an order's events into the order-checks store and writes its one final state back to orders.v1,
 * in the order's partition. The driver feeds that record back in, as the cluster would: it must
 * not count as a new order. Values travel as JSON (no registry); keys keep their real bytes.
 */
const serdes = jsonTopicSerdes();
const partitions = 3;
const t0 = 1_700_000_000_000;

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

type CheckType = OrderValidation['checkType'];
type Result = OrderValidation['validationResult'];
const order = (id: string, state: Order['state'] = 'CREATED'): Order => ({ id, customerId: 4, state, product: 'UNDERPANTS', quantity: 3, price: 5 });

const settings = { checkTimeoutMs: 60_000, decisionRetentionMs: 3_600_000 };

async function start() {
  driver = await TopologyTestDriver.create(aggregatorTopology(serdes, settings), { partitions, applicationId: 'aggregator-test', wallClockStartMs: t0 });
  const d = driver;
  const ordersIn = d.inputTopic(serdes[Topics.orders].topic, serdes[Topics.orders]);
  const results = d.inputTopic(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations]);
  const ordersOut = d.outputTopic(serdes[Topics.orders].topic, serdes[Topics.orders]);
  let clock = t0;
  const partitionOf = (orderId: string) => d.partitionOf(serdes[Topics.orders].key.serialize(orderId));
  return {
    d,
    partitionOf,
    putOrder: (value: Order) => ordersIn.pipe(value.id, value, (clock += 1)),
    putResult: (orderId: string, checkType: CheckType, validationResult: Result) => results.pipe(orderId, { orderId, checkType, validationResult }, (clock += 1)),
    putTombstone: (orderId: string) => results.pipe(orderId, null, (clock += 1)),
    /** The final states on orders.v1 (everything written there since the last read, less the CREATED orders piped in). */
    finals: async () =>
      (await ordersOut.readRecords())
        .filter((record) => record.value?.state !== 'CREATED')
        .map(({ key, value, partition, timestamp }) => ({ key, value, partition, timestamp })),
    checks: (orderId: string) => d.store<ReadOnlyKeyValueStore<string, OrderChecks>>(checksStore, partitionOf(orderId)).get(orderId),
  };
}

describe('validation-aggregator topology', () => {
  it('writes VALIDATED once all three check types PASS: one record on orders.v1, keyed by order id, in its partition, carrying the whole order', async () => {
    const { d, partitionOf, putOrder, putResult, finals, checks } = await start();
    await putOrder(order('order-4')); // partition 2
    await putResult('order-4', 'INVENTORY_CHECK', 'PASS');
    await putResult('order-4', 'FRAUD_CHECK', 'PASS');
    expect(await finals()).toEqual([]);
    expect(await checks('order-4')).toEqual({ order: order('order-4'), results: { INVENTORY_CHECK: 'PASS', FRAUD_CHECK: 'PASS' }, since: t0 });
    await putResult('order-4', 'ORDER_DETAILS_CHECK', 'PASS');
    expect(await finals()).toEqual([{ key: 'order-4', value: order('order-4', 'VALIDATED'), partition: 2, timestamp: t0 + 4 }]);
    expect(partitionOf('order-4')).toBe(2);
    // Once decided, only the decision is kept, in the order's partition alone.
    expect(await checks('order-4')).toEqual({ results: {}, decided: 'VALIDATED', decidedAt: t0 });
    for (const partition of [0, 1]) expect(await d.store<ReadOnlyKeyValueStore<string, OrderChecks>>(checksStore, partition).get('order-4')).toBeUndefined();
    // orders.v1 now holds the CREATED order and its final state, nothing else: the VALIDATED record read back in is not an order.
    expect(d.rawRecords(Topics.orders).map((record) => [record.key!.toString('utf8'), record.partition])).toEqual([
      ['order-4', 2],
      ['order-4', 2],
    ]);
  });

  it('writes FAILED at the first FAIL, and nothing for the results that come after the decision', async () => {
    const { putOrder, putResult, finals, checks } = await start();
    await putOrder(order('order-1')); // partition 1
    await putResult('order-1', 'INVENTORY_CHECK', 'PASS');
    await putResult('order-1', 'FRAUD_CHECK', 'FAIL');
    expect(await finals()).toEqual([{ key: 'order-1', value: order('order-1', 'FAILED'), partition: 1, timestamp: t0 + 3 }]);
    await putResult('order-1', 'ORDER_DETAILS_CHECK', 'PASS');
    await putResult('order-1', 'ORDER_DETAILS_CHECK', 'FAIL');
    await putOrder(order('order-1')); // a replayed CREATED record
    expect(await finals()).toEqual([]);
    expect(await checks('order-1')).toEqual({ results: {}, decided: 'FAILED', decidedAt: t0 });
  });

  it('counts distinct check types: duplicate PASSes never validate, and a late FAIL after VALIDATED changes nothing', async () => {
    const { putOrder, putResult, finals, checks } = await start();
    await putOrder(order('order-2')); // partition 0
    for (let i = 0; i < 3; i += 1) await putResult('order-2', 'INVENTORY_CHECK', 'PASS');
    await putResult('order-2', 'FRAUD_CHECK', 'PASS');
    await putResult('order-2', 'FRAUD_CHECK', 'PASS');
    expect(await finals()).toEqual([]);
    expect(await checks('order-2')).toEqual({ order: order('order-2'), results: { INVENTORY_CHECK: 'PASS', FRAUD_CHECK: 'PASS' }, since: t0 });
    await putResult('order-2', 'ORDER_DETAILS_CHECK', 'PASS');
    await putResult('order-2', 'FRAUD_CHECK', 'FAIL');
    expect(await finals()).toEqual([{ key: 'order-2', value: order('order-2', 'VALIDATED'), partition: 0, timestamp: t0 + 7 }]);
  });

  it('decides when the order itself arrives after all its results, and keeps orders apart', async () => {
    const { putOrder, putResult, putTombstone, finals, checks } = await start();
    await putResult('order-3', 'FRAUD_CHECK', 'PASS');
    await putResult('order-3', 'ORDER_DETAILS_CHECK', 'PASS');
    await putResult('order-5', 'INVENTORY_CHECK', 'PASS'); // another order: counts nothing for order-3
    await putTombstone('order-3');
    await putResult('order-3', 'INVENTORY_CHECK', 'PASS');
    expect(await finals()).toEqual([]);
    expect(await checks('order-3')).toEqual({ results: { FRAUD_CHECK: 'PASS', ORDER_DETAILS_CHECK: 'PASS', INVENTORY_CHECK: 'PASS' }, since: t0 });
    await putOrder(order('order-3')); // partition 0
    await putOrder(order('order-5')); // partition 2
    expect(await finals()).toEqual([{ key: 'order-3', value: order('order-3', 'VALIDATED'), partition: 0, timestamp: t0 + 6 }]);
    expect(await checks('order-5')).toEqual({ order: order('order-5'), results: { INVENTORY_CHECK: 'PASS' }, since: t0 });
  });

  it('ends an order still missing a check after its time limit as FAILED, saying which checks it never got, once', async () => {
    const { d, putOrder, putResult, finals, checks } = await start();
    await putOrder(order('order-6'));
    await putResult('order-6', 'INVENTORY_CHECK', 'PASS');
    await d.advanceWallClockTime(settings.checkTimeoutMs - 1_000);
    expect(await finals()).toEqual([]);
    await d.advanceWallClockTime(1_000);
    const [final, ...others] = await finals();
    expect(others).toEqual([]);
    expect(final?.value).toEqual(order('order-6', 'FAILED'));
    expect(d.rawRecords(Topics.orders).at(-1)?.headers).toEqual({ reason: 'no FRAUD_CHECK, ORDER_DETAILS_CHECK within 60 s' });
    expect(await checks('order-6')).toEqual({ results: {}, decided: 'FAILED', decidedAt: t0 + settings.checkTimeoutMs });
    // The check that comes in after all changes nothing.
    await putResult('order-6', 'FRAUD_CHECK', 'PASS');
    await d.advanceWallClockTime(settings.checkTimeoutMs);
    expect(await finals()).toEqual([]);
  });

  it('forgets a decided order once its retention ends, and results of an order it never saw created after their time limit', async () => {
    const { d, putOrder, putResult, checks } = await start();
    await putOrder(order('order-7'));
    for (const type of ['INVENTORY_CHECK', 'FRAUD_CHECK', 'ORDER_DETAILS_CHECK'] as const) await putResult('order-7', type, 'PASS');
    await putResult('stray', 'FRAUD_CHECK', 'PASS');
    expect(await checks('order-7')).toEqual({ results: {}, decided: 'VALIDATED', decidedAt: t0 });
    await d.advanceWallClockTime(settings.checkTimeoutMs);
    expect(await checks('stray')).toBeUndefined();
    expect(await checks('order-7')).toEqual({ results: {}, decided: 'VALIDATED', decidedAt: t0 });
    await d.advanceWallClockTime(settings.decisionRetentionMs);
    expect(await checks('order-7')).toBeUndefined();
  });
});
