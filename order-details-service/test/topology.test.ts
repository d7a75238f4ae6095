import { Topics, type Order, type OrderValidation } from '@ecosystem/avro';
import { jsonTopicSerdes } from '@ecosystem/avro/testing';
import { TopologyTestDriver } from 'kstreams/test-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { orderDetailsTopology } from '../src/topology.ts';

/**
 * The order-details validator in the test driver: a stateless consume-transform-produce from
 * orders.v1 to order-validations.v1. Values travel as JSON (no registry); keys keep their real
 * bytes, and three partitions show that each verdict lands in its order's partition, where the
 * aggregator will meet it.
 */
const serdes = jsonTopicSerdes();
const partitions = 3;
const t0 = 1_700_000_000_000;

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

const order = (id: string, changes: Partial<Order> = {}): Order => ({ id, customerId: 1, state: 'CREATED', product: 'JUMPERS', quantity: 1, price: 10, ...changes });
const verdict = (orderId: string, validationResult: OrderValidation['validationResult']): OrderValidation => ({ orderId, checkType: 'ORDER_DETAILS_CHECK', validationResult });

async function start() {
  driver = await TopologyTestDriver.create(orderDetailsTopology(serdes), { partitions, applicationId: 'order-details-test' });
  const d = driver;
  const orders = d.inputTopic(serdes[Topics.orders].topic, serdes[Topics.orders]);
  return {
    d,
    putOrder: (value: Order, timestamp: number) => orders.pipe(value.id, value, timestamp),
    orders,
    validations: d.outputTopic(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations]),
    partitionOf: (orderId: string) => d.partitionOf(serdes[Topics.orders].key.serialize(orderId)),
  };
}

describe('order-details topology', () => {
  it('is one stateless sub-topology: orders.v1 in, no stores, no internal topics', () => {
    const topology = orderDetailsTopology(serdes);
    expect(topology.subtopologies).toHaveLength(1);
    expect(topology.resolve('order-details-test').internalTopics).toEqual([]);
    expect(topology.resolve('order-details-test').sourceTopics).toEqual([Topics.orders]);
  });

  it('writes one ORDER_DETAILS_CHECK per CREATED order, keyed by order id, in the order’s partition, at the order’s timestamp', async () => {
    const { putOrder, validations, partitionOf } = await start();
    // order-1..order-4 sit in partitions 1, 0, 0, 2: all three partitions are used.
    await putOrder(order('order-1'), t0);
    await putOrder(order('order-2', { quantity: -1 }), t0 + 1); // the anchor's quantity −1
    await putOrder(order('order-3', { price: 0 }), t0 + 2);
    await putOrder(order('order-4', { customerId: 0, product: 'UNDERPANTS', quantity: 75 }), t0 + 3);
    const records = await validations.readRecords();
    expect(records.map(({ key, value, partition, timestamp }) => ({ key, value, partition, timestamp }))).toEqual([
      { key: 'order-1', value: verdict('order-1', 'PASS'), partition: 1, timestamp: t0 },
      { key: 'order-2', value: verdict('order-2', 'FAIL'), partition: 0, timestamp: t0 + 1 },
      { key: 'order-3', value: verdict('order-3', 'FAIL'), partition: 0, timestamp: t0 + 2 },
      { key: 'order-4', value: verdict('order-4', 'PASS'), partition: 2, timestamp: t0 + 3 },
    ]);
    for (const record of records) expect(record.partition).toBe(partitionOf(record.key));
  });

  it('ignores the final states the aggregator writes back to orders.v1, and tombstones', async () => {
    const { putOrder, orders, validations } = await start();
    await putOrder(order('order-5'), t0);
    await putOrder(order('order-5', { state: 'VALIDATED' }), t0 + 1);
    await putOrder(order('order-6', { quantity: -1, state: 'FAILED' }), t0 + 2);
    await putOrder(order('order-7', { state: 'SHIPPED' }), t0 + 3);
    await orders.pipe('order-8', null, t0 + 4);
    expect(await validations.readKeyValues()).toEqual([['order-5', verdict('order-5', 'PASS')]]);
  });
});
