import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, RecordProducer, StreamsBuilder, stringSerde } from '../src/index.ts';
import { consumeUntil, createTopics, deleteTestTopics, eventually, produce, testClients, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

const running: KafkaStreams[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

describe('event order within a task', () => {
  it('joins each stream record with the table as of its timestamp when both topics have a backlog', async () => {
    // Price updates and orders written before the application starts, interleaved in time:
    // read in arrival order (all prices first, or all orders first) every order would see the
    // last price, or none; read in timestamp order each sees the price of its moment.
    const clients = testClients('event-order');
    const prices = unique('prices');
    const orders = unique('orders');
    const output = unique('priced-orders');
    await createTopics(clients, [{ name: prices, partitions: 1 }, { name: orders, partitions: 1 }, { name: output, partitions: 1 }]);
    const base = Date.now() - 60_000;
    const updates = 50;
    await produce(clients, prices, Array.from({ length: updates }, (_, index) => ({ key: 'jumpers', value: String(index), timestamp: base + index * 10 })));
    await produce(clients, orders, Array.from({ length: updates }, (_, index) => ({ key: 'jumpers', value: `order-${index}`, timestamp: base + index * 10 + 5 })));

    const builder = new StreamsBuilder();
    const table = builder.table(prices, { key: stringSerde, value: stringSerde }, { storeName: 'prices' });
    builder
      .stream(orders, { key: stringSerde, value: stringSerde })
      .leftJoin(table, (order, price: string | undefined) => `${order}@${price ?? 'none'}`)
      .to(output, { key: stringSerde, value: stringSerde });
    const app = new KafkaStreams({ applicationId: unique('event-order-app'), topology: builder.build(), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'event-order-')) });
    running.push(app);
    await app.start();
    await eventually(() => app.isReady, 'the app to be ready', 30_000);

    const joined = await consumeUntil(clients, output, (records) => records.length >= updates);
    expect(joined.map((record) => record.value!.toString())).toEqual(Array.from({ length: updates }, (_, index) => `order-${index}@${index}`));
  });
});

describe('event order across the partitions of a re-keyed stream', () => {
  it('re-keys records in timestamp order when an earlier record is hidden behind another producer\'s open transaction', async () => {
    // An order (A) written right after another producer opened a transaction in its partition
    // stays invisible to read_committed readers until that transaction ends, while a later
    // order (B) in a partition without one is visible at once: the aggregator's transactions
    // in orders.v1 do this to orders the API writes. Re-keyed in arrival order, B would reach
    // the customer's task before A.
    const clients = testClients('hidden-order');
    const input = unique('orders');
    const output = unique('by-customer');
    await createTopics(clients, [{ name: input, partitions: 2 }, { name: output, partitions: 1 }]);
    const builder = new StreamsBuilder();
    builder
      .stream(input, { key: stringSerde, value: stringSerde })
      .selectKey(() => 'customer')
      .repartition({ name: 'by-customer', serdes: { key: stringSerde, value: stringSerde } })
      .to(output, { key: stringSerde, value: stringSerde });
    const app = new KafkaStreams({ applicationId: unique('hidden-order-app'), topology: builder.build(), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'hidden-order-')) });
    running.push(app);
    await app.start();
    await eventually(() => app.isReady, 'the app to be ready', 30_000);

    const connections = clients.connections(unique('writers'));
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    try {
      const transactional = new RecordProducer(connections, { transactionalId: unique('aggregator'), logger });
      const plain = new RecordProducer(connections, { logger });
      await Promise.all([transactional.init(), plain.init()]);
      // One record in each partition first, so the app is fetching both when the test begins.
      const now = Date.now();
      await plain.send([0, 1].map((partition) => ({ topic: input, partition, key: Buffer.from('warm-up'), value: Buffer.from(`warm-up ${partition}`), timestamp: now - 2_000 + partition })));
      await consumeUntil(clients, output, (records) => records.length >= 2);
      await transactional.send([{ topic: input, partition: 0, key: Buffer.from('t'), value: Buffer.from('final state'), timestamp: now - 1_000 }]);
      await plain.send([{ topic: input, partition: 0, key: Buffer.from('a'), value: Buffer.from('A'), timestamp: now }]);
      await plain.send([{ topic: input, partition: 1, key: Buffer.from('b'), value: Buffer.from('B'), timestamp: now + 1 }]);
      // B is visible at once, A not yet: once the app has fetched B, the transaction ends.
      await eventually(() => app.metrics().lag.some((lag) => lag.topic === input && lag.partition === 1 && lag.endOffset >= 2), 'the app to fetch B', 30_000);
      await transactional.commit();
    } finally {
      await connections.close();
    }
    const rekeyed = await consumeUntil(clients, output, (records) => records.length >= 5);
    expect(rekeyed.map((record) => record.value!.toString()).slice(2)).toEqual(['final state', 'A', 'B']);
  });
});
