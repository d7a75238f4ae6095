import { describe, expect, it } from 'vitest';
import {
  ContextualProcessor,
  jsonSerde,
  longSerde,
  StreamsBuilder,
  Stores,
  stringSerde,
  type KeyValueStore,
  type ProcessorContext,
  type StreamRecord,
  type Topology,
} from '../src/index.ts';
import { entries, numbers, strings, useTopologyDriver } from './support/driver.ts';

interface Order {
  item: string;
  quantity: number;
}
const orders = { key: stringSerde, value: jsonSerde<Order>() };

const { start } = useTopologyDriver();

/** Remembers the last order per key and forwards it; for poisoned orders also deletes o2, then fails. */
class RememberThenMaybeFail extends ContextualProcessor<string, Order> {
  private store!: KeyValueStore<string, Order>;

  override init(context: ProcessorContext<string, Order>): void {
    super.init(context);
    this.store = context.getStateStore('last-order');
  }

  async process(record: StreamRecord<string, Order>): Promise<void> {
    this.store.put(record.key, record.value);
    const poisoned = record.value.item === 'poison';
    if (poisoned) this.store.delete('o2'); // a committed key, deleted before the failure
    await this.context.forward(record);
    if (poisoned) throw new Error(`cannot handle order ${record.key}`);
  }
}

function failingTopology(): Topology {
  const builder = new StreamsBuilder();
  builder.addStateStore(Stores.keyValue<string, Order>('last-order', stringSerde));
  const remembered = builder.stream('orders', orders).process(() => new RememberThenMaybeFail(), { stores: ['last-order'], serdes: orders, name: 'remember' });
  remembered.to('accepted');
  // Downstream of the failing processor: another store and another sink, written before the failure.
  remembered.groupByKey().aggregate(() => 0, (_key, order, total) => total + order.quantity, { storeName: 'totals' }).toStream().to('totals', numbers);
  return builder.build();
}

describe('failures', () => {
  it('dead-letters a record whose value cannot be deserialized, without a trace, and goes on', async () => {
    const d = await start(failingTopology());
    const input = d.inputTopic('orders', orders);
    await input.pipe('o1', { item: 'apple', quantity: 2 }, 1);
    await input.pipeRaw(Buffer.from('o1'), Buffer.from('{"item": "broken'), 2);
    await input.pipe('o1', { item: 'pear', quantity: 3 }, 3);

    expect(d.deadLetters).toHaveLength(1);
    expect(d.deadLetters[0]).toMatchObject({ topic: 'orders', partition: 0, offset: '1', stage: 'deserialization' });
    expect(d.deadLetters[0]!.error).toMatch(/^deserialization failed: .*JSON/);
    expect(await d.outputTopic('accepted', orders).readKeyValues()).toEqual([
      ['o1', { item: 'apple', quantity: 2 }],
      ['o1', { item: 'pear', quantity: 3 }],
    ]);
    expect(await d.outputTopic('totals', numbers).readKeyValues()).toEqual([
      ['o1', 2],
      ['o1', 5],
    ]);
  });

  it('dead-letters a record whose key cannot be deserialized', async () => {
    const builder = new StreamsBuilder();
    builder.stream('by-id', { key: longSerde, value: stringSerde }).to('copy');
    const d = await start(builder.build());
    await d.inputTopic('by-id', { key: longSerde, value: stringSerde }).pipeRaw(Buffer.from([1, 2, 3]), Buffer.from('short key'), 1);
    await d.inputTopic('by-id', { key: longSerde, value: stringSerde }).pipe(42, 'fine', 2);
    expect(d.deadLetters.map(({ stage, offset }) => [stage, offset])).toEqual([['deserialization', '0']]);
    expect(await d.outputTopic('copy', { key: longSerde, value: stringSerde }).readKeyValues()).toEqual([[42, 'fine']]);
  });

  it('rolls back the store writes and outputs of a processor that throws after writing and forwarding', async () => {
    const d = await start(failingTopology());
    const input = d.inputTopic('orders', orders);
    await input.pipe('o1', { item: 'apple', quantity: 2 }, 1);
    await input.pipe('o2', { item: 'fig', quantity: 1 }, 2);
    const before = {
      lastOrder: await entries(d.store<KeyValueStore<string, Order>>('last-order')),
      totals: await entries(d.store<KeyValueStore<string, number>>('totals')),
    };
    const accepted = d.outputTopic('accepted', orders);
    const totals = d.outputTopic('totals', numbers);
    await accepted.readRecords();
    await totals.readRecords();

    await input.pipe('o1', { item: 'poison', quantity: 100 }, 3); // overwrites o1, new total, outputs, then throws
    await input.pipe('o3', { item: 'poison', quantity: 7 }, 4); // a new key, then throws

    expect(d.deadLetters).toEqual([
      { topic: 'orders', partition: 0, offset: '2', stage: 'processing', error: 'processing failed: cannot handle order o1' },
      { topic: 'orders', partition: 0, offset: '3', stage: 'processing', error: 'processing failed: cannot handle order o3' },
    ]);
    expect(await entries(d.store<KeyValueStore<string, Order>>('last-order'))).toEqual(before.lastOrder);
    expect(await entries(d.store<KeyValueStore<string, number>>('totals'))).toEqual(before.totals);
    expect(before.lastOrder.map(([key]) => key)).toEqual(['o1', 'o2']);
    expect(before.totals).toEqual([
      ['o1', 2],
      ['o2', 1],
    ]);
    expect(await accepted.readRecords()).toEqual([]);
    expect(await totals.readRecords()).toEqual([]);
    expect(d.rawRecords('accepted')).toHaveLength(2);

    // The next records are processed normally, on the untouched state.
    await input.pipe('o1', { item: 'plum', quantity: 5 }, 5);
    expect(await accepted.readKeyValues()).toEqual([['o1', { item: 'plum', quantity: 5 }]]);
    expect(await totals.readKeyValues()).toEqual([['o1', 7]]);
    expect(await d.store<KeyValueStore<string, Order>>('last-order').get('o1')).toEqual({ item: 'plum', quantity: 5 });
    expect(d.deadLetters).toHaveLength(2);
  });

  it('rolls back every output of a record when a later one fails to serialize', async () => {
    const picky = {
      serialize: (value: string) => {
        if (value === 'bad') throw new Error('cannot serialize "bad"');
        return Buffer.from(value);
      },
      deserialize: (bytes: Buffer) => bytes.toString(),
    };
    const builder = new StreamsBuilder();
    builder
      .stream('lines', strings)
      .flatMapValues((line) => line.split(' '))
      .to('words', { key: stringSerde, value: picky });
    const d = await start(builder.build());
    const input = d.inputTopic('lines', strings);
    await input.pipe('l1', 'good also bad fine', 1);
    await input.pipe('l2', 'all good', 2);
    expect(d.deadLetters.map(({ stage, error }) => [stage, error])).toEqual([['processing', 'processing failed: cannot serialize "bad"']]);
    expect(await d.outputTopic('words', strings).readValues()).toEqual(['all', 'good']);
  });

  it('dead-letters a failure after a repartition in the downstream task, keeping the upstream hop', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('orders', orders)
      .groupBy((_key, order) => order.item, { serdes: orders, name: 'by-item' })
      .aggregate(
        () => 0,
        (item, order, total) => {
          if (order.quantity < 0) throw new Error(`negative quantity for ${item}`);
          return total + order.quantity;
        },
        { storeName: 'item-totals' },
      )
      .toStream()
      .to('item-totals', numbers);
    const d = await start(builder.build(), { partitions: 3 });
    const input = d.inputTopic('orders', orders);
    await input.pipe('o1', { item: 'apple', quantity: 2 }, 1);
    await input.pipe('o2', { item: 'apple', quantity: -1 }, 2);
    await input.pipe('o3', { item: 'apple', quantity: 4 }, 3);
    const repartition = d.internalTopic('by-item-repartition');
    expect(d.rawRecords(repartition)).toHaveLength(3);
    const failed = d.rawRecords(repartition)[1]!;
    expect(d.deadLetters).toEqual([{ topic: repartition, partition: failed.partition, offset: failed.offset, stage: 'processing', error: 'processing failed: negative quantity for apple' }]);
    expect(await d.outputTopic('item-totals', numbers).readKeyValues()).toEqual([
      ['apple', 2],
      ['apple', 6],
    ]);
  });
});
