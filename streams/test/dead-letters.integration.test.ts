import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, StreamsBuilder, stringSerde, type ReadOnlyKeyValueStore } from '../src/index.ts';
import { consumeUntil, createTopics, deleteTestTopics, eventually, produce, testClients, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

const running: KafkaStreams[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

/** Values must be JSON objects with a numeric `amount`; anything else fails to deserialize. */
const amountSerde = {
  serialize: (value: { amount: number }) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => {
    const parsed = JSON.parse(bytes.toString()) as { amount?: unknown };
    if (typeof parsed.amount !== 'number') throw new Error('amount is not a number');
    return { amount: parsed.amount };
  },
};

describe('dead-letter handling', () => {
  it('sends poison records to <app>.dlq with the reason and keeps processing the records after them', async () => {
    const clients = testClients();
    const input = unique('dlq-input');
    const output = unique('dlq-output');
    const applicationId = unique('dlq-app');
    await createTopics(clients, [{ name: input, partitions: 1 }, { name: output, partitions: 1 }]);
    const builder = new StreamsBuilder();
    builder
      .stream(input, { key: stringSerde, value: amountSerde })
      .mapValues((value) => {
        if (value.amount < 0) throw new Error(`negative amount ${value.amount}`);
        return { amount: value.amount * 2 };
      })
      .to(output, { key: stringSerde, value: amountSerde });
    const app = new KafkaStreams({ applicationId, topology: builder.build(), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'dlq-')) });
    running.push(app);
    await app.start();
    await eventually(() => app.isReady, 'the app to be ready', 30_000);

    await produce(clients, input, [
      { key: 'a', value: '{"amount":1}' },
      { key: 'garbage', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) },
      { key: 'b', value: '{"amount":2}' },
      { key: 'negative', value: '{"amount":-5}' },
      { key: 'c', value: '{"amount":3}' },
    ]);

    const outputs = await consumeUntil(clients, output, (records) => records.length >= 3);
    expect(outputs.map(({ key, value }) => [key!.toString(), value!.toString()])).toEqual([
      ['a', '{"amount":2}'],
      ['b', '{"amount":4}'],
      ['c', '{"amount":6}'],
    ]);
    const deadLetters = await consumeUntil(clients, app.deadLetterTopic, (records) => records.length >= 2);
    const summary = deadLetters.map(({ key, value, headers }) => ({
      key: key!.toString(),
      value,
      stage: headers['dlq.stage']!.toString(),
      error: headers['dlq.error']!.toString(),
      topic: headers['dlq.topic']!.toString(),
      partition: headers['dlq.partition']!.toString(),
      offset: headers['dlq.offset']!.toString(),
    }));
    expect(summary).toEqual([
      { key: 'garbage', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]), stage: 'deserialization', error: expect.stringMatching(/^deserialization failed: .*JSON/), topic: input, partition: '0', offset: '1' },
      { key: 'negative', value: Buffer.from('{"amount":-5}'), stage: 'processing', error: 'processing failed: negative amount -5', topic: input, partition: '0', offset: '3' },
    ]);
  });

  it('retries a global-table record that fails for a passing reason, and skips one that can never be read', async () => {
    const clients = testClients();
    const prices = unique('global-prices');
    const input = unique('global-input');
    const output = unique('global-output');
    await createTopics(clients, [{ name: prices, partitions: 1 }, { name: input, partitions: 1 }, { name: output, partitions: 1 }]);
    // The registry being down looks like this to the runtime: a serde error marked transient.
    let registryDownFor = 3;
    const flakyAmountSerde = {
      ...amountSerde,
      deserialize: (bytes: Buffer) => {
        if (bytes.toString().includes('"flaky"') && registryDownFor-- > 0) throw Object.assign(new Error('registry unavailable'), { transient: true });
        return amountSerde.deserialize(bytes);
      },
    };
    await produce(clients, prices, [
      { key: 'garbage', value: Buffer.from([0xde, 0xad]) },
      { key: 'flaky', value: '{"amount":7,"note":"flaky"}' },
      { key: 'plain', value: '{"amount":3}' },
    ]);
    const builder = new StreamsBuilder();
    const table = builder.globalTable(prices, { key: stringSerde, value: flakyAmountSerde }, { storeName: 'prices' });
    builder
      .stream(input, { key: stringSerde, value: stringSerde })
      .leftJoinGlobal(table, (_key, product) => product, (product, price: { amount: number } | undefined) => `${product}=${price?.amount ?? 'none'}`)
      .to(output, { key: stringSerde, value: stringSerde });
    const app = new KafkaStreams({ applicationId: unique('global-app'), topology: builder.build(), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'global-')) });
    running.push(app);
    await app.start();
    await eventually(() => app.isReady, 'the app to be ready', 30_000);

    expect(registryDownFor).toBeLessThan(0);
    const store = app.globalStore<ReadOnlyKeyValueStore<string, { amount: number }>>('prices');
    expect(await store.get('flaky')).toEqual({ amount: 7 });
    expect(await store.get('garbage')).toBeUndefined();
    await produce(clients, input, [{ key: '1', value: 'flaky' }, { key: '2', value: 'plain' }, { key: '3', value: 'garbage' }]);
    const joined = await consumeUntil(clients, output, (records) => records.length >= 3);
    expect(joined.map(({ value }) => value!.toString())).toEqual(['flaky=7', 'plain=3', 'garbage=none']);
  });

  it('restores a table from its topic through a registry outage instead of skipping its rows, and counts the rows it can never read', async () => {
    const clients = testClients();
    const prices = unique('table-prices');
    const input = unique('table-input');
    const output = unique('table-output');
    await createTopics(clients, [{ name: prices, partitions: 1 }, { name: input, partitions: 1 }, { name: output, partitions: 1 }]);
    let registryDown = false;
    let failuresWhileDown = 0;
    const flakyAmountSerde = {
      ...amountSerde,
      deserialize: (bytes: Buffer) => {
        if (registryDown && failuresWhileDown++ < 3) throw Object.assign(new Error('registry unavailable'), { transient: true });
        return amountSerde.deserialize(bytes);
      },
    };
    const topology = () => {
      const builder = new StreamsBuilder();
      const table = builder.table(prices, { key: stringSerde, value: flakyAmountSerde }, { storeName: 'prices' });
      builder
        .stream(input, { key: stringSerde, value: stringSerde })
        .leftJoin(table, (product, price: { amount: number } | undefined) => `${product}=${price?.amount ?? 'none'}`)
        .to(output, { key: stringSerde, value: stringSerde });
      return builder.build();
    };
    const applicationId = unique('table-app');
    // The first instance reads the table's rows (one of them garbage, dead-lettered) and commits past them.
    await produce(clients, prices, [{ key: 'jumpers', value: '{"amount":7}' }, { key: 'garbage', value: Buffer.from([0xde, 0xad]) }, { key: 'socks', value: '{"amount":3}' }]);
    const first = new KafkaStreams({ applicationId, topology: topology(), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'table-')) });
    running.push(first);
    await first.start();
    await eventually(() => first.isReady, 'the first instance to be ready', 30_000);
    await produce(clients, input, [{ key: 'jumpers', value: 'jumpers' }]);
    await consumeUntil(clients, output, (records) => records.length >= 1);
    await first.close();

    // A new instance on an empty state folder restores the table from its topic, while the registry is down.
    registryDown = true;
    const second = new KafkaStreams({ applicationId, topology: topology(), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'table-')) });
    running.push(second);
    await second.start();
    await eventually(() => second.isReady, 'the second instance to be ready', 30_000);
    expect(failuresWhileDown).toBeGreaterThanOrEqual(3);
    await produce(clients, input, [{ key: 'jumpers', value: 'jumpers' }, { key: 'socks', value: 'socks' }]);
    const joined = await consumeUntil(clients, output, (records) => records.length >= 3);
    expect(joined.map(({ value }) => value!.toString())).toEqual(['jumpers=7', 'jumpers=7', 'socks=3']);
    expect([...second.metrics().taskCounters.values()].reduce((sum, counters) => sum + counters.skippedOnRestore, 0)).toBe(1);
  });
});
