import { longSerde, stringSerde, type ReadOnlyKeyValueStore } from 'kstreams';
import { TopologyTestDriver } from 'kstreams/test-driver';
import { afterEach, describe, expect, it } from 'vitest';
import { countStore, wordCountTopology } from '../src/topology.ts';

describe('word count', () => {
  let driver: TopologyTestDriver | undefined;
  afterEach(async () => {
    await driver?.close();
  });

  it('emits the running count of each word, case-blind and without punctuation', async () => {
    driver = await TopologyTestDriver.create(wordCountTopology('lines', 'counts'), { partitions: 2 });
    const lines = driver.inputTopic('lines', { key: stringSerde, value: stringSerde });
    await lines.pipe('1', 'The cat, the hat.', 1_000);
    await lines.pipe('2', 'A hat!', 2_000);
    const counts = await driver.outputTopic('counts', { key: stringSerde, value: longSerde }).readKeyValues();
    expect(counts).toEqual([
      ['the', 1],
      ['cat', 1],
      ['the', 2],
      ['hat', 1],
      ['a', 1],
      ['hat', 2],
    ]);
  });

  it('keeps the counts in a store that interactive queries read', async () => {
    driver = await TopologyTestDriver.create(wordCountTopology('lines', 'counts'));
    await driver.inputTopic('lines', { key: stringSerde, value: stringSerde }).pipe('1', 'to be or not to be', 1_000);
    expect(await driver.outputTopic('counts', { key: stringSerde, value: longSerde }).readKeyValues()).toEqual([
      ['to', 1],
      ['be', 1],
      ['or', 1],
      ['not', 1],
      ['to', 2],
      ['be', 2],
    ]);
    const store = driver.store<ReadOnlyKeyValueStore<string, number>>(countStore);
    expect(await store.get('to')).toBe(2);
    expect(await store.get('or')).toBe(1);
    expect(await store.get('question')).toBeUndefined();
  });
});
