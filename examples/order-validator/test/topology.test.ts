import { jsonSerde, stringSerde } from 'kstreams';
import { TopologyTestDriver } from 'kstreams/test-driver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { orderValidatorTopology, validate, type Order, type Stock, type Validation, type ValidatorTopics } from '../src/topology.ts';

const topics: ValidatorTopics = { orders: 'orders', stock: 'stock', validated: 'orders-validated', rejected: 'orders-rejected' };
const order = (id: string, product: string, quantity: number): Order => ({ id, customerId: 'c1', product, quantity });

describe('validate', () => {
  it('passes an order the stock covers and names the reason of a failure', () => {
    expect(validate(order('o1', 'pen', 2), { available: 2 })).toEqual({ orderId: 'o1', result: 'PASS' });
    expect(validate(order('o2', 'pen', 3), { available: 2 })).toEqual({ orderId: 'o2', result: 'FAIL', reason: 'only 2 of pen in stock' });
    expect(validate(order('o3', 'ink', 1), undefined)).toEqual({ orderId: 'o3', result: 'FAIL', reason: 'unknown product ink' });
    expect(validate(order('o4', 'pen', 0), { available: 2 })).toMatchObject({ result: 'FAIL' });
  });
});

describe('the order validator topology', () => {
  let driver: TopologyTestDriver;
  beforeEach(async () => {
    driver = await TopologyTestDriver.create(orderValidatorTopology(topics), { partitions: 3 });
  });
  afterEach(async () => {
    await driver.close();
  });

  const stock = () => driver.inputTopic(topics.stock, { key: stringSerde, value: jsonSerde<Stock>() });
  const orders = () => driver.inputTopic(topics.orders, { key: stringSerde, value: jsonSerde<Order>() });
  const verdicts = (topic: string) => driver.outputTopic(topic, { key: stringSerde, value: jsonSerde<Validation>() }).readKeyValues();

  it('routes verdicts keyed by order id to the validated and rejected topics', async () => {
    await stock().pipe('pen', { available: 5 }, 1_000);
    await orders().pipe('pen', order('o1', 'pen', 5), 2_000);
    await orders().pipe('pen', order('o2', 'pen', 6), 3_000);
    await orders().pipe('ink', order('o3', 'ink', 1), 4_000);
    expect(await verdicts(topics.validated)).toEqual([['o1', { orderId: 'o1', result: 'PASS' }]]);
    expect(await verdicts(topics.rejected)).toEqual([
      ['o2', { orderId: 'o2', result: 'FAIL', reason: 'only 5 of pen in stock' }],
      ['o3', { orderId: 'o3', result: 'FAIL', reason: 'unknown product ink' }],
    ]);
  });

  it('judges each order against the latest stock written before it', async () => {
    await stock().pipe('pen', { available: 1 }, 1_000);
    await orders().pipe('pen', order('o1', 'pen', 3), 2_000);
    await stock().pipe('pen', { available: 3 }, 3_000);
    await orders().pipe('pen', order('o2', 'pen', 3), 4_000);
    expect((await verdicts(topics.rejected)).map(([id]) => id)).toEqual(['o1']);
    expect((await verdicts(topics.validated)).map(([id]) => id)).toEqual(['o2']);
  });
});
