import { describe, expect, it } from 'vitest';
import { jsonSerde, partitionForKey, StreamsBuilder, stringSerde } from '../src/index.ts';
import { numbers, strings, useTopologyDriver } from './support/driver.ts';

const { start } = useTopologyDriver();

describe('stateless operators', () => {
  it('filter keeps matching records and filterNot the others, in order, with timestamps and headers', async () => {
    const builder = new StreamsBuilder();
    const input = builder.stream('in', numbers);
    input.filter((_key, value) => value % 2 === 0).to('even');
    input.filterNot((_key, value) => value % 2 === 0).to('odd');
    const d = await start(builder.build());
    const pipe = d.inputTopic('in', numbers);
    for (const [index, value] of [1, 2, 3, 4, 6].entries()) await pipe.pipe(`k${index}`, value, 100 + index, { h: `v${index}` });

    const even = await d.outputTopic('even', numbers).readRecords();
    expect(even.map(({ key, value, timestamp, headers }) => ({ key, value, timestamp, headers }))).toEqual([
      { key: 'k1', value: 2, timestamp: 101, headers: { h: 'v1' } },
      { key: 'k3', value: 4, timestamp: 103, headers: { h: 'v3' } },
      { key: 'k4', value: 6, timestamp: 104, headers: { h: 'v4' } },
    ]);
    expect(await d.outputTopic('odd', numbers).readKeyValues()).toEqual([
      ['k0', 1],
      ['k2', 3],
    ]);
    // Reading again returns only what was written since.
    expect(await d.outputTopic('even', numbers).readKeyValues()).toEqual([]);
  });

  it('map changes key and value; mapValues changes the value and sees the key', async () => {
    const builder = new StreamsBuilder();
    const input = builder.stream('in', strings);
    input.map((key, value) => [value, key.length], { serdes: numbers }).to('mapped');
    input.mapValues((value, key) => `${key}:${value.toUpperCase()}`).to('upper', strings);
    input.mapValues((value) => value.length, { valueSerde: jsonSerde<number>() }).to('lengths');
    const d = await start(builder.build());
    await d.inputTopic('in', strings).pipe('abc', 'x', 5);
    await d.inputTopic('in', strings).pipe('de', 'yy', 6);

    expect(await d.outputTopic('mapped', numbers).readRecords()).toEqual([
      { key: 'x', value: 3, timestamp: 5, headers: {}, partition: 0 },
      { key: 'yy', value: 2, timestamp: 6, headers: {}, partition: 0 },
    ]);
    expect(await d.outputTopic('upper', strings).readKeyValues()).toEqual([
      ['abc', 'abc:X'],
      ['de', 'de:YY'],
    ]);
    expect(await d.outputTopic('lengths', numbers).readKeyValues()).toEqual([
      ['abc', 1],
      ['de', 2],
    ]);
  });

  it('to() without serdes after a type-changing operator fails at build time with a clear message', () => {
    const builder = new StreamsBuilder();
    const mapped = builder.stream('in', strings).mapValues((value) => value.length);
    expect(() => mapped.to('out')).toThrow(/needs serdes/);
  });

  it('flatMapValues emits zero or more records per input, keeping key and timestamp', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .flatMapValues((value) => (value === '' ? [] : value.split(',')))
      .to('out', strings);
    const d = await start(builder.build());
    const pipe = d.inputTopic('in', strings);
    await pipe.pipe('a', 'x,y,z', 10);
    await pipe.pipe('b', '', 11);
    await pipe.pipe('c', 'w', 12);
    const records = await d.outputTopic('out', strings).readRecords();
    expect(records.map(({ key, value, timestamp }) => [key, value, timestamp])).toEqual([
      ['a', 'x', 10],
      ['a', 'y', 10],
      ['a', 'z', 10],
      ['c', 'w', 12],
    ]);
  });

  it('selectKey changes the key, and a sink places records by the murmur2 partition of the new key', async () => {
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .selectKey((_key, value) => value.split(':')[0]!, { keySerde: stringSerde })
      .to('out');
    const d = await start(builder.build(), { partitions: 3 });
    const pipe = d.inputTopic('in', strings);
    const values = ['alpha:1', 'beta:2', 'gamma:3', 'delta:4', 'alpha:5'];
    for (const [index, value] of values.entries()) await pipe.pipe(`original-${index}`, value, index);
    const records = await d.outputTopic('out', strings).readRecords();
    // One input per pipe, each processed fully, so the output order is the input order.
    expect(records.map(({ key, value }) => [key, value])).toEqual(values.map((value) => [value.split(':')[0], value]));
    for (const record of records) expect(record.partition).toBe(partitionForKey(Buffer.from(record.key), 3));
    expect(new Set(records.map((record) => record.partition)).size).toBeGreaterThan(1);
  });

  it('peek sees every record and passes it on unchanged', async () => {
    const seen: Array<[string, string]> = [];
    const builder = new StreamsBuilder();
    builder
      .stream('in', strings)
      .peek((key, value) => seen.push([key, value]))
      .filter((_key, value) => value !== 'drop')
      .to('out');
    const d = await start(builder.build());
    const pipe = d.inputTopic('in', strings);
    await pipe.pipe('a', 'keep', 1);
    await pipe.pipe('b', 'drop', 2);
    expect(seen).toEqual([
      ['a', 'keep'],
      ['b', 'drop'],
    ]);
    expect(await d.outputTopic('out', strings).readKeyValues()).toEqual([['a', 'keep']]);
  });

  it('merge interleaves two streams in arrival order', async () => {
    const builder = new StreamsBuilder();
    const left = builder.stream('left', strings).mapValues((value) => `L-${value}`, { valueSerde: stringSerde });
    const right = builder.stream('right', strings).mapValues((value) => `R-${value}`, { valueSerde: stringSerde });
    left.merge(right).to('merged');
    const topology = builder.build();
    // Both sources feed one node, so they are one sub-topology (one task per partition reads both topics).
    expect(topology.subtopologies).toHaveLength(1);
    const d = await start(topology);
    await d.inputTopic('left', strings).pipe('k', '1', 1);
    await d.inputTopic('right', strings).pipe('k', '2', 2);
    await d.inputTopic('left', strings).pipe('k', '3', 3);
    expect(await d.outputTopic('merged', strings).readValues()).toEqual(['L-1', 'R-2', 'L-3']);
  });

  it('refuses two sources of one topic in one sub-topology (a task feeds each topic to one source)', () => {
    const builder = new StreamsBuilder();
    const first = builder.stream('in', strings, { name: 'first' });
    const second = builder.stream('in', strings, { name: 'second' });
    first.merge(second).to('out');
    expect(() => builder.build()).toThrow('sources first and second both read in in one sub-topology: read the topic once and reuse the stream');
  });

  it('to() with a topic chosen per record routes each record', async () => {
    const builder = new StreamsBuilder();
    builder.stream('in', numbers).to((key, value) => (value >= 100 ? 'large' : `small-${key}`));
    const d = await start(builder.build());
    const pipe = d.inputTopic('in', numbers);
    await pipe.pipe('a', 5, 1);
    await pipe.pipe('b', 500, 2);
    await pipe.pipe('a', 7, 3);
    expect(await d.outputTopic('large', numbers).readKeyValues()).toEqual([['b', 500]]);
    expect(await d.outputTopic('small-a', numbers).readKeyValues()).toEqual([
      ['a', 5],
      ['a', 7],
    ]);
    expect(d.rawRecords('small-b')).toEqual([]);
  });

  it('passes null keys and null values through to sinks as nulls', async () => {
    const builder = new StreamsBuilder();
    builder.stream('in', strings).to('out');
    const d = await start(builder.build(), { partitions: 3 });
    await d.inputTopic('in', strings).pipe(null, 'no key', 1);
    await d.inputTopic('in', strings).pipe('k', null, 2);
    const raw = d.rawRecords('out');
    expect(raw.map((record) => [record.key, record.value])).toEqual([
      [null, Buffer.from('no key')],
      [Buffer.from('k'), null],
    ]);
  });
});
