import { describe, expect, it } from 'vitest';
import { jsonSerde, partitionForKey, StreamsBuilder, type KeyValueStore } from '../src/index.ts';
import { entries, numbers, strings, useTopologyDriver } from './support/driver.ts';

const { start } = useTopologyDriver();

/** Counts products per category, re-keying them through the by-category repartition topic. */
function addCategoryCounts(builder: StreamsBuilder): void {
  builder
    .stream('products', strings, { name: 'products-source' })
    .filter((_key, category) => category !== '', { name: 'has-category' })
    .groupBy((_key, category) => category, { serdes: strings, name: 'by-category' })
    .count({ storeName: 'category-counts' })
    .toStream({ name: 'counts-stream' })
    .to('category-counts', numbers, { name: 'counts-sink' });
}

function categoryCounts() {
  const builder = new StreamsBuilder();
  addCategoryCounts(builder);
  return builder.build();
}

describe('repartitioning', () => {
  it('sends re-keyed records through <app>-<name>-repartition, placed by the murmur2 partitioner', async () => {
    const driver = await start(categoryCounts(), { applicationId: 'shop', partitions: 3 });
    const input = driver.inputTopic('products', strings);
    const products: Array<[string, string]> = [
      ['p1', 'fruit'],
      ['p2', 'dairy'],
      ['p3', 'fruit'],
      ['p4', 'bakery'],
      ['p5', 'frozen'],
      ['p6', 'dairy'],
      ['p7', 'snacks'],
      ['p8', ''],
    ];
    for (const [index, [key, category]] of products.entries()) await input.pipe(key, category, 100 + index);

    expect(driver.internalTopic('by-category-repartition')).toBe('shop-by-category-repartition');
    expect(driver.sourceTopics()).toEqual(['products', 'shop-by-category-repartition']);
    const repartitioned = driver.rawRecords('shop-by-category-repartition');
    expect(repartitioned.map((record) => [record.key?.toString(), record.value?.toString(), record.timestamp])).toEqual(
      products.filter(([, category]) => category !== '').map(([, category], index) => [category, category, 100 + index]),
    );
    for (const record of repartitioned) expect(record.partition).toBe(partitionForKey(record.key!, 3));
    // The categories are spread over several partitions, so this checks real placement.
    expect(new Set(repartitioned.map((record) => record.partition)).size).toBeGreaterThan(1);

    // Each partition's task counts exactly the categories of its partition.
    const categories = [...new Set(products.map(([, category]) => category).filter((category) => category !== ''))];
    for (let partition = 0; partition < 3; partition += 1) {
      const counted = await entries(driver.store<KeyValueStore<string, number>>('category-counts', partition));
      const expected = categories
        .filter((category) => partitionForKey(Buffer.from(category), 3) === partition)
        .sort()
        .map((category): [string, number] => [category, products.filter(([, c]) => c === category).length]);
      expect(counted).toEqual(expected);
    }
    const output = await driver.outputTopic('category-counts', numbers).readRecords();
    expect(output.map(({ key, value }) => [key, value])).toEqual([
      ['fruit', 1],
      ['dairy', 1],
      ['fruit', 2],
      ['bakery', 1],
      ['frozen', 1],
      ['dairy', 2],
      ['snacks', 1],
    ]);
    for (const record of output) expect(record.partition).toBe(partitionForKey(Buffer.from(record.key), 3));
  });

  it('repartitions a stream whose key changed by map before groupByKey, through <store>-repartition', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('lines', strings)
      .map((_key, value) => [value.toLowerCase(), 1])
      .groupByKey({ serdes: numbers })
      .count({ storeName: 'word-count' });
    const topology = builder.build();
    expect(topology.resolve('app').internalTopics).toEqual([
      { name: 'app-word-count-repartition', kind: 'repartition', subtopology: 1 },
      { name: 'app-word-count-changelog', kind: 'changelog', subtopology: 1 },
    ]);
    const driver = await start(topology, { partitions: 3 });
    for (const word of ['Hello', 'HELLO', 'world']) await driver.inputTopic('lines', strings).pipe('line', word, 1);
    const raw = driver.rawRecords(driver.internalTopic('word-count-repartition'));
    expect(raw.map((record) => [record.key?.toString(), record.value?.toString(), record.partition])).toEqual(
      ['hello', 'hello', 'world'].map((word) => [word, '1', partitionForKey(Buffer.from(word), 3)]),
    );
    expect(await driver.store<KeyValueStore<string, number>>('word-count', partitionForKey(Buffer.from('hello'), 3)).get('hello')).toBe(2);
  });

  it('does not repartition when the key did not change (mapValues, filter, peek)', () => {
    const builder = new StreamsBuilder();
    builder
      .stream('lines', strings)
      .filter(() => true)
      .mapValues((value) => value.length, { valueSerde: jsonSerde<number>() })
      .peek(() => undefined)
      .groupByKey()
      .count({ storeName: 'lengths' });
    const topology = builder.build();
    expect(topology.resolve('app').internalTopics.map((topic) => topic.kind)).toEqual(['changelog']);
    expect(topology.subtopologies).toHaveLength(1);
  });
});

describe('Topology.describe()', () => {
  it('outlines the two sub-topologies split at the repartition topic, with stores and the global store', () => {
    const builder = new StreamsBuilder();
    addCategoryCounts(builder);
    builder.globalTable('categories', strings, { storeName: 'category-names' });
    const topology = builder.build();
    const lines = topology.describe().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines.slice(0, 4)).toEqual([
      'Sub-topology 0: products',
      '  source products-source --> has-category',
      '  processor has-category --> by-category-key-select',
      '  processor by-category-key-select --> by-category-repartition-sink',
    ]);
    // lines[4] is the repartition sink, see the next test.
    expect(lines[4]).toMatch(/^ {2}sink by-category-repartition-sink -> .*by-category-repartition$/);
    expect(lines.slice(5)).toEqual([
      'Sub-topology 1: <app>-by-category-repartition',
      '  source by-category-repartition-source --> category-counts-aggregate',
      '  processor category-counts-aggregate [stores: category-counts] --> counts-stream',
      '  processor counts-stream --> counts-sink',
      '  sink counts-sink -> category-counts',
      'Global store category-names <- categories',
    ]);
  });

  // Known bug in topology.ts (not owned here): a sink to an internal topic is printed with
  // its raw placeholder name ("\u0000internal:by-category-repartition", a NUL byte included)
  // instead of "<app>-by-category-repartition". Remove `.fails` once describe() resolves it.
  it('names the repartition topic of a sink like the source reading it', () => {
    const description = categoryCounts().describe();
    expect(description).toContain('  sink by-category-repartition-sink -> <app>-by-category-repartition\n');
    expect(description).not.toContain('\u0000');
  });
});
