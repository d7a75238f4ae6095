import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, StreamsBuilder, stringSerde } from '../src/index.ts';
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
