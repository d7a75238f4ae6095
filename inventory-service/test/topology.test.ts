import { Topics, type Order, type OrderValidation } from '@ecosystem/avro';
import { jsonTopicSerdes } from '@ecosystem/avro/testing';
import type { ReadOnlyKeyValueStore } from 'kstreams';
import { TopologyTestDriver } from 'kstreams/test-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { inventoryStore, inventoryTopology, reservationsStore, reservedStockStore } from '../src/topology.ts';

/**
 * The inventory validator in the test driver. Orders (keyed by order id) are re-keyed by product
 * through `<app>-orders-by-product-repartition`, so that they meet the product's row of the
 * warehouse-inventory.v1 table and its reserved-stock count in one task. Values travel as JSON
 * (no registry); keys and the 4-byte stock values keep their real bytes. With three partitions,
 * UNDERPANTS and STOCKINGS live in partition 1, JUMPERS in partition 2, nothing in partition 0.
 */
const serdes = jsonTopicSerdes();
const partitions = 3;
const applicationId = 'inventory-test';
const repartitionTopic = `${applicationId}-orders-by-product-repartition`;
const t0 = 1_700_000_000_000;

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

const order = (id: string, product: Order['product'], quantity: number, state: Order['state'] = 'CREATED'): Order => ({ id, customerId: 1, state, product, quantity, price: 10 });
const check = (orderId: string, validationResult: OrderValidation['validationResult']): OrderValidation => ({ orderId, checkType: 'INVENTORY_CHECK', validationResult });

async function entries<K, V>(store: ReadOnlyKeyValueStore<K, V>): Promise<Array<[K, V]>> {
  const all: Array<[K, V]> = [];
  for await (const entry of store.all()) all.push(entry);
  return all;
}

async function start() {
  driver = await TopologyTestDriver.create(inventoryTopology(serdes), { partitions, applicationId });
  const d = driver;
  const inventory = d.inputTopic(serdes[Topics.warehouseInventory].topic, serdes[Topics.warehouseInventory]);
  const orders = d.inputTopic(serdes[Topics.orders].topic, serdes[Topics.orders]);
  let clock = t0;
  const partitionOf = (key: string) => d.partitionOf(serdes[Topics.orders].key.serialize(key));
  /** Every store of the service, per partition: [inventory, reserved, reservations]. */
  const stores = async () =>
    Promise.all(
      Array.from({ length: partitions }, async (_, partition) => ({
        inventory: await entries(d.store<ReadOnlyKeyValueStore<string, number>>(inventoryStore, partition)),
        reserved: await entries(d.store<ReadOnlyKeyValueStore<string, number>>(reservedStockStore, partition)),
        reservations: await entries(d.store<ReadOnlyKeyValueStore<string, { product: string; quantity: number }>>(reservationsStore, partition)),
      })),
    );
  return {
    d,
    orders,
    partitionOf,
    stores,
    putStock: (product: Order['product'], stock: number) => inventory.pipe(product, stock, (clock += 1)),
    putOrder: (value: Order) => orders.pipe(value.id, value, (clock += 1)),
    validations: d.outputTopic(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations]),
  };
}

describe('inventory topology', () => {
  it('joins orders re-keyed by product with the warehouse-inventory.v1 table: UNDERPANTS 75, JUMPERS 1; underpants×3, jumpers×1, jumpers×1 → PASS, PASS, FAIL', async () => {
    const { d, putStock, putOrder, validations, partitionOf, stores } = await start();
    await putStock('UNDERPANTS', 75);
    await putStock('JUMPERS', 1);
    await putOrder(order('order-1', 'UNDERPANTS', 3));
    await putOrder(order('order-2', 'JUMPERS', 1));
    await putOrder(order('order-3', 'JUMPERS', 1));

    // The verdicts are keyed by order id again, in the order's partition (1, 0, 0), not the product's.
    const verdicts = await validations.readRecords();
    expect(verdicts.map(({ key, value, partition, timestamp }) => ({ key, value, partition, timestamp }))).toEqual([
      { key: 'order-1', value: check('order-1', 'PASS'), partition: 1, timestamp: t0 + 3 },
      { key: 'order-2', value: check('order-2', 'PASS'), partition: 0, timestamp: t0 + 4 },
      { key: 'order-3', value: check('order-3', 'FAIL'), partition: 0, timestamp: t0 + 5 },
    ]);
    for (const verdict of verdicts) expect(verdict.partition).toBe(partitionOf(verdict.key));

    // Each order crossed the repartition topic keyed by its product, into the partition of that product's stock row.
    const stockPartition = new Map(d.rawRecords(Topics.warehouseInventory).map((record) => [record.key!.toString('utf8'), record.partition]));
    expect(stockPartition).toEqual(new Map([['UNDERPANTS', 1], ['JUMPERS', 2]]));
    const repartitioned = d.rawRecords(repartitionTopic);
    expect(repartitioned.map((record) => [record.key!.toString('utf8'), record.partition])).toEqual([
      ['UNDERPANTS', 1],
      ['JUMPERS', 2],
      ['JUMPERS', 2],
    ]);
    expect(d.rawRecords(Topics.orders).map((record) => record.partition)).toEqual([1, 0, 0]);

    // Stock as read from the table, and what the passing orders reserved, live in the product's partition.
    expect(await stores()).toEqual([
      { inventory: [], reserved: [], reservations: [] },
      { inventory: [['UNDERPANTS', 75]], reserved: [['UNDERPANTS', 3]], reservations: [['order-1', { product: 'UNDERPANTS', quantity: 3 }]] },
      { inventory: [['JUMPERS', 1]], reserved: [['JUMPERS', 1]], reservations: [['order-2', { product: 'JUMPERS', quantity: 1 }]] },
    ]);
  });

  it('fails a product without a stock row, and reads the latest stock row for later orders', async () => {
    const { putStock, putOrder, validations, stores } = await start();
    await putOrder(order('order-1', 'STOCKINGS', 1));
    await putStock('STOCKINGS', 2);
    await putOrder(order('order-2', 'STOCKINGS', 2));
    await putOrder(order('order-3', 'STOCKINGS', 1));
    await putStock('STOCKINGS', 5);
    await putOrder(order('order-4', 'STOCKINGS', 3));
    expect(await validations.readKeyValues()).toEqual([
      ['order-1', check('order-1', 'FAIL')],
      ['order-2', check('order-2', 'PASS')],
      ['order-3', check('order-3', 'FAIL')],
      ['order-4', check('order-4', 'PASS')],
    ]);
    expect((await stores())[1]).toEqual({
      inventory: [['STOCKINGS', 5]],
      reserved: [['STOCKINGS', 5]],
      reservations: [
        ['order-2', { product: 'STOCKINGS', quantity: 2 }],
        ['order-4', { product: 'STOCKINGS', quantity: 3 }],
      ],
    });
  });

  it('releases the reservation of an order that ends FAILED, so its stock serves the next order; writes no verdict for it', async () => {
    const { putStock, putOrder, validations, stores } = await start();
    await putStock('JUMPERS', 1);
    await putOrder(order('order-1', 'JUMPERS', 1));
    await putOrder(order('order-2', 'JUMPERS', 1));
    // order-1 failed another check: the aggregator writes it back to orders.v1 as FAILED.
    await putOrder(order('order-1', 'JUMPERS', 1, 'FAILED'));
    expect((await stores())[2]).toEqual({ inventory: [['JUMPERS', 1]], reserved: [['JUMPERS', 0]], reservations: [] });
    // order-2 failed here: it reserved nothing, so its FAILED record releases nothing.
    await putOrder(order('order-2', 'JUMPERS', 1, 'FAILED'));
    await putOrder(order('order-3', 'JUMPERS', 1));
    expect(await validations.readKeyValues()).toEqual([
      ['order-1', check('order-1', 'PASS')],
      ['order-2', check('order-2', 'FAIL')],
      ['order-3', check('order-3', 'PASS')],
    ]);
    expect((await stores())[2]).toEqual({ inventory: [['JUMPERS', 1]], reserved: [['JUMPERS', 1]], reservations: [['order-3', { product: 'JUMPERS', quantity: 1 }]] });
  });

  it('keeps the stock of a VALIDATED order reserved for good, dropping only its bookkeeping', async () => {
    const { putStock, putOrder, validations, stores } = await start();
    await putStock('UNDERPANTS', 75);
    await putOrder(order('order-1', 'UNDERPANTS', 70));
    await putOrder(order('order-1', 'UNDERPANTS', 70, 'VALIDATED'));
    await putOrder(order('order-2', 'UNDERPANTS', 6));
    expect(await validations.readKeyValues()).toEqual([
      ['order-1', check('order-1', 'PASS')],
      ['order-2', check('order-2', 'FAIL')],
    ]);
    expect((await stores())[1]).toEqual({ inventory: [['UNDERPANTS', 75]], reserved: [['UNDERPANTS', 70]], reservations: [] });
  });

  it('reserves nothing for an order that moves on to SHIPPED, and writes no verdict for it', async () => {
    const { putStock, putOrder, validations, stores } = await start();
    await putStock('UNDERPANTS', 75);
    await putOrder(order('order-1', 'UNDERPANTS', 70));
    await putOrder(order('order-1', 'UNDERPANTS', 70, 'VALIDATED'));
    await putOrder(order('order-1', 'UNDERPANTS', 70, 'SHIPPED'));
    expect(await validations.readKeyValues()).toEqual([['order-1', check('order-1', 'PASS')]]);
    expect((await stores())[1]).toEqual({ inventory: [['UNDERPANTS', 75]], reserved: [['UNDERPANTS', 70]], reservations: [] });
  });

  it('answers a replayed CREATED order with its earlier verdict without reserving twice, and skips tombstones', async () => {
    const { d, putStock, putOrder, orders, validations, stores } = await start();
    await putStock('UNDERPANTS', 75);
    await putOrder(order('order-1', 'UNDERPANTS', 50));
    await putOrder(order('order-1', 'UNDERPANTS', 50));
    await orders.pipe('order-2', null, t0 + 100);
    expect(await validations.readKeyValues()).toEqual([
      ['order-1', check('order-1', 'PASS')],
      ['order-1', check('order-1', 'PASS')],
    ]);
    expect((await stores())[1]).toEqual({ inventory: [['UNDERPANTS', 75]], reserved: [['UNDERPANTS', 50]], reservations: [['order-1', { product: 'UNDERPANTS', quantity: 50 }]] });
    expect(d.deadLetters).toEqual([]);
  });
});
