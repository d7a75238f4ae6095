import { describe, expect, it } from 'vitest';
import { StreamsBuilder, stringSerde, TimeWindows, type Windowed } from '../src/index.ts';
import { TopologyTestDriver } from '../src/test-driver.ts';
import { jsonSerde } from '../src/serde.ts';

const count = { serialize: (n: number) => Buffer.from(String(n)), deserialize: (b: Buffer) => Number(b.toString()) };

describe('smoke', () => {
  it('counts words per key through a repartition', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('lines', { key: stringSerde, value: stringSerde })
      .flatMapValues((line) => line.split(' '))
      .groupBy((_key, word) => word, { serdes: { key: stringSerde, value: stringSerde }, name: 'by-word' })
      .count({ storeName: 'word-counts' })
      .toStream()
      .to('counts', { key: stringSerde, value: count });
    const driver = await TopologyTestDriver.create(builder.build(), { partitions: 3 });
    const input = driver.inputTopic('lines', { key: stringSerde, value: stringSerde });
    await input.pipe('a', 'x y x', 1000);
    await input.pipe('b', 'y z', 2000);
    const output = await driver.outputTopic('counts', { key: stringSerde, value: count }).readKeyValues();
    expect(output).toEqual([['x', 1], ['y', 1], ['x', 2], ['y', 2], ['z', 1]]);
    expect(driver.rawRecords(driver.internalTopic('by-word-repartition'))).toHaveLength(5);
    await driver.close();
  });

  it('counts in tumbling windows', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('clicks', { key: stringSerde, value: stringSerde })
      .groupByKey()
      .windowedBy(TimeWindows.ofSize(10))
      .count({ storeName: 'clicks-per-window' })
      .toStream()
      .to('windowed', { key: jsonSerde<Windowed<string>>(), value: count });
    const driver = await TopologyTestDriver.create(builder.build());
    const input = driver.inputTopic('clicks', { key: stringSerde, value: stringSerde });
    for (const timestamp of [1, 9, 10, 3, 25, 5]) await input.pipe('k', 'c', timestamp);
    const output = await driver.outputTopic('windowed', { key: jsonSerde<Windowed<string>>(), value: count }).readKeyValues();
    expect(output).toEqual([
      [{ key: 'k', window: { start: 0, end: 10 } }, 1],
      [{ key: 'k', window: { start: 0, end: 10 } }, 2],
      [{ key: 'k', window: { start: 10, end: 20 } }, 1],
      // 3 arrives after stream time reached 10, the end of [0, 10): the window is closed (grace 0).
      [{ key: 'k', window: { start: 20, end: 30 } }, 1],
    ]);
    await driver.close();
  });
});
