import { describe, expect, it } from 'vitest';
import { jsonSerde, StreamsBuilder, stringSerde, type KeyValueStore } from '../src/index.ts';
import { entries, numbers, strings, useTopologyDriver } from './support/driver.ts';

const { start } = useTopologyDriver();

describe('groupByKey aggregations', () => {
  it('count forwards every new count, keeps the store, and ignores null keys and values', async () => {
    const builder = new StreamsBuilder();
    builder.stream('clicks', strings).groupByKey().count({ storeName: 'click-counts' }).toStream().to('counts', numbers);
    const topology = builder.build();
    // No key change, so no repartition; only the changelog is internal.
    expect(topology.resolve('app').internalTopics).toEqual([{ name: 'app-click-counts-changelog', kind: 'changelog', subtopology: 0 }]);
    expect(topology.subtopologies).toHaveLength(1);
    const d = await start(topology);
    const input = d.inputTopic('clicks', strings);
    await input.pipe('a', 'x', 1);
    await input.pipe('b', 'x', 2);
    await input.pipe('a', 'y', 3);
    await input.pipe('a', null, 4); // ignored
    await input.pipe(null, 'z', 5); // ignored
    await input.pipe('a', 'z', 6);
    const records = await d.outputTopic('counts', numbers).readRecords();
    expect(records.map(({ key, value, timestamp }) => [key, value, timestamp])).toEqual([
      ['a', 1, 1],
      ['b', 1, 2],
      ['a', 2, 3],
      ['a', 3, 6],
    ]);
    expect(await entries(d.store<KeyValueStore<string, number>>('click-counts'))).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
    expect(d.deadLetters).toEqual([]);
  });

  it('aggregate starts from the initializer per key and folds each value in', async () => {
    interface Stats {
      sum: number;
      values: number[];
    }
    const stats = jsonSerde<Stats>();
    const builder = new StreamsBuilder();
    builder
      .stream('amounts', numbers)
      .groupByKey()
      .aggregate<Stats>(() => ({ sum: 0, values: [] }), (_key, value, aggregate) => ({ sum: aggregate.sum + value, values: [...aggregate.values, value] }), { storeName: 'stats', valueSerde: stats })
      .toStream()
      .to('stats', { key: stringSerde, value: stats });
    const d = await start(builder.build());
    const input = d.inputTopic('amounts', numbers);
    await input.pipe('a', 5, 1);
    await input.pipe('b', 1, 2);
    await input.pipe('a', -2, 3);
    expect(await d.outputTopic('stats', { key: stringSerde, value: stats }).readKeyValues()).toEqual([
      ['a', { sum: 5, values: [5] }],
      ['b', { sum: 1, values: [1] }],
      ['a', { sum: 3, values: [5, -2] }],
    ]);
    expect(await d.store<KeyValueStore<string, Stats>>('stats').get('a')).toEqual({ sum: 3, values: [5, -2] });
  });

  it('reduce combines values of the same key, the first value standing alone', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('amounts', numbers)
      .groupByKey()
      .reduce((left, right) => Math.max(left, right), { storeName: 'maxima' })
      .toStream()
      .to('maxima', numbers);
    const d = await start(builder.build());
    const input = d.inputTopic('amounts', numbers);
    for (const [key, value] of [['a', 3], ['a', 1], ['b', 0], ['a', 7], ['b', -1]] as const) await input.pipe(key, value, 1);
    expect(await d.outputTopic('maxima', numbers).readKeyValues()).toEqual([
      ['a', 3],
      ['a', 3],
      ['b', 0],
      ['a', 7],
      ['b', 0],
    ]);
  });
});

describe('groupBy aggregations', () => {
  it('count, aggregate and reduce of one named grouping share its repartition topic', async () => {
    const builder = new StreamsBuilder();
    const grouped = builder
      .stream('sales', numbers)
      // key "store-1/apples" grouped by product
      .groupBy((key) => key.split('/')[1]!, { serdes: numbers, name: 'by-product' });
    grouped.count({ storeName: 'sales-count' }).toStream().to('count', numbers);
    grouped.aggregate(() => 0, (_key, value, sum) => sum + value, { storeName: 'sales-sum' }).toStream().to('sum', numbers);
    grouped.reduce((left, right) => Math.min(left, right), { storeName: 'sales-min' }).toStream().to('min', numbers);
    const topology = builder.build();
    expect(topology.resolve('app').internalTopics.filter((topic) => topic.kind === 'repartition')).toEqual([{ name: 'app-by-product-repartition', kind: 'repartition', subtopology: 1 }]);
    expect(topology.subtopologies).toHaveLength(2);
    expect(topology.subtopologies[1]!.stores).toEqual(['sales-count', 'sales-sum', 'sales-min']);

    const d = await start(topology, { partitions: 3 });
    const input = d.inputTopic('sales', numbers);
    await input.pipe('s1/apples', 4, 1);
    await input.pipe('s2/pears', 10, 2);
    await input.pipe('s2/apples', 2, 3);
    await input.pipe('s3/apples', 6, 4);
    expect(d.rawRecords(d.internalTopic('by-product-repartition'))).toHaveLength(4);
    expect(await d.outputTopic('count', numbers).readKeyValues()).toEqual([
      ['apples', 1],
      ['pears', 1],
      ['apples', 2],
      ['apples', 3],
    ]);
    expect(await d.outputTopic('sum', numbers).readKeyValues()).toEqual([
      ['apples', 4],
      ['pears', 10],
      ['apples', 6],
      ['apples', 12],
    ]);
    expect(await d.outputTopic('min', numbers).readKeyValues()).toEqual([
      ['apples', 4],
      ['pears', 10],
      ['apples', 2],
      ['apples', 2],
    ]);
  });

  it('unnamed groupings repartition once per aggregation, named after its store', async () => {
    const builder = new StreamsBuilder();
    const grouped = builder.stream('sales', numbers).groupBy((key) => key.toUpperCase(), { serdes: numbers });
    grouped.count({ storeName: 'upper-count' });
    grouped.reduce((left, right) => left + right, { storeName: 'upper-sum' });
    const topology = builder.build();
    expect(topology.resolve('app').internalTopics.filter((topic) => topic.kind === 'repartition').map((topic) => topic.name)).toEqual(['app-upper-count-repartition', 'app-upper-sum-repartition']);
    const d = await start(topology);
    await d.inputTopic('sales', numbers).pipe('a', 5, 1);
    await d.inputTopic('sales', numbers).pipe('A', 6, 1);
    expect(await d.store<KeyValueStore<string, number>>('upper-count').get('A')).toBe(2);
    expect(await d.store<KeyValueStore<string, number>>('upper-sum').get('A')).toBe(11);
  });

  it('fails at build time when a repartition has no serdes', () => {
    const builder = new StreamsBuilder();
    const grouped = builder.stream('sales', numbers).groupBy((key) => key.toUpperCase());
    expect(() => grouped.count({ storeName: 'c' })).toThrow(/needs key and value serdes/);
  });
});
