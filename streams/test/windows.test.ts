import { describe, expect, it } from 'vitest';
import {
  jsonSerde,
  partitionForKey,
  SessionWindows,
  StreamsBuilder,
  stringSerde,
  TimeWindows,
  type SessionStore,
  type StreamRecord,
  type Windowed,
  type WindowStore,
} from '../src/index.ts';
import { collect, numbers, strings, useTopologyDriver } from './support/driver.ts';

const windowedCounts = { key: jsonSerde<Windowed<string>>(), value: jsonSerde<number>() };
const windowedLists = { key: jsonSerde<Windowed<string>>(), value: jsonSerde<string[]>() };

const { start } = useTopologyDriver();

/** `key[start,end)=value` for compact exact assertions. */
function tumbling(records: Array<{ key: Windowed<string>; value: number | null }>): string[] {
  return records.map(({ key, value }) => `${key.key}[${key.window.start},${key.window.end})=${value}`);
}

describe('tumbling windows', () => {
  interface Late {
    value: unknown;
    timestamp: number;
    streamTime: number;
  }

  async function counting(windows: TimeWindows, partitions = 1) {
    const late: Late[] = [];
    const builder = new StreamsBuilder();
    builder
      .stream('events', strings)
      .groupByKey()
      .windowedBy(windows)
      .count({ storeName: 'counts', onLateRecord: (record: StreamRecord<unknown, unknown>, streamTime) => late.push({ value: record.value, timestamp: record.timestamp, streamTime }) })
      .toStream()
      .to('windowed-counts', windowedCounts);
    const d = await start(builder.build(), { partitions });
    const output = d.outputTopic('windowed-counts', windowedCounts);
    const input = d.inputTopic('events', strings);
    return { d, late, pipe: (key: string, timestamp: number) => input.pipe(key, `e${timestamp}`, timestamp), read: async () => tumbling(await output.readRecords()) };
  }

  it('puts a record at exactly the window end into the next window', async () => {
    const { pipe, read } = await counting(TimeWindows.ofSize(10));
    for (const timestamp of [0, 9, 10, 19, 20]) await pipe('k', timestamp);
    expect(await read()).toEqual(['k[0,10)=1', 'k[0,10)=2', 'k[10,20)=1', 'k[10,20)=2', 'k[20,30)=1']);
  });

  it('has no grace by default: a window closes as soon as stream time reaches its end', async () => {
    expect(TimeWindows.ofSize(10).graceMs).toBe(0);
    const { pipe, read, late } = await counting(TimeWindows.ofSize(10));
    await pipe('k', 5);
    await pipe('k', 9); // stream time 9: [0,10) still open
    await pipe('k', 10); // stream time 10: [0,10) closes
    await pipe('k', 3); // dropped
    expect(await read()).toEqual(['k[0,10)=1', 'k[0,10)=2', 'k[10,20)=1']);
    expect(late).toEqual([{ value: 'e3', timestamp: 3, streamTime: 10 }]);
  });

  it('counts out-of-order records within the grace period into their still open window and drops later ones', async () => {
    const { d, pipe, read, late } = await counting(TimeWindows.ofSize(10).grace(5));
    await pipe('k', 0);
    await pipe('k', 12); // stream time 12
    await pipe('k', 3); // [0,10) open until stream time reaches 15
    await pipe('k', 14); // stream time 14
    await pipe('k', 4); // still open: 10 + 5 > 14
    await pipe('k', 15); // stream time 15: [0,10) closes
    await pipe('k', 5); // dropped
    await pipe('k', 11); // [10,20) is open
    expect(await read()).toEqual(['k[0,10)=1', 'k[10,20)=1', 'k[0,10)=2', 'k[10,20)=2', 'k[0,10)=3', 'k[10,20)=3', 'k[10,20)=4']);
    expect(late).toEqual([{ value: 'e5', timestamp: 5, streamTime: 15 }]);
    const store = d.store<WindowStore<string, number>>('counts');
    expect(await collect(store.fetch('k', 0, 100))).toEqual([
      { start: 0, value: 3 },
      { start: 10, value: 4 },
    ]);
  });

  it('closes windows of every key of a partition: stream time is per task, not per key', async () => {
    const { pipe, read, late } = await counting(TimeWindows.ofSize(10));
    await pipe('a', 5);
    await pipe('b', 10); // stream time 10, from another key
    await pipe('a', 6); // [0,10) closed for a too
    expect(await read()).toEqual(['a[0,10)=1', 'b[10,20)=1']);
    expect(late.map(({ value }) => value)).toEqual(['e6']);
  });

  it('keeps stream time per partition: a late partition does not close windows of another', async () => {
    const candidates = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const first = candidates[0]!;
    const other = candidates.find((key) => partitionForKey(Buffer.from(key), 3) !== partitionForKey(Buffer.from(first), 3))!;
    const { pipe, read, late } = await counting(TimeWindows.ofSize(10), 3);
    await pipe(first, 5);
    await pipe(other, 100); // another partition's task
    await pipe(first, 6); // its own task's stream time is 5
    expect(await read()).toEqual([`${first}[0,10)=1`, `${other}[100,110)=1`, `${first}[0,10)=2`]);
    expect(late).toEqual([]);
  });

  it('aggregates and reduces per window', async () => {
    const builder = new StreamsBuilder();
    const grouped = builder.stream('amounts', numbers).groupByKey();
    grouped
      .windowedBy(TimeWindows.ofSize(100))
      .aggregate(() => ({ sum: 0, n: 0 }), (_key, value, aggregate) => ({ sum: aggregate.sum + value, n: aggregate.n + 1 }), { storeName: 'sums' })
      .toStream()
      .to('sums', { key: jsonSerde<Windowed<string>>(), value: jsonSerde<{ sum: number; n: number }>() });
    grouped
      .windowedBy(TimeWindows.ofSize(100))
      .reduce((left, right) => Math.max(left, right), { storeName: 'maxima' })
      .toStream()
      .to('maxima', windowedCounts);
    const d = await start(builder.build());
    const input = d.inputTopic('amounts', numbers);
    await input.pipe('k', 5, 10);
    await input.pipe('k', 3, 20);
    await input.pipe('k', 8, 150);
    await input.pipe('k', 9, 199);
    const sums = await d.outputTopic('sums', { key: jsonSerde<Windowed<string>>(), value: jsonSerde<{ sum: number; n: number }>() }).readKeyValues();
    expect(sums.map(([key, value]) => [key.window.start, value])).toEqual([
      [0, { sum: 5, n: 1 }],
      [0, { sum: 8, n: 2 }],
      [100, { sum: 8, n: 1 }],
      [100, { sum: 17, n: 2 }],
    ]);
    expect(tumbling(await d.outputTopic('maxima', windowedCounts).readRecords())).toEqual(['k[0,100)=5', 'k[0,100)=5', 'k[100,200)=8', 'k[100,200)=9']);
  });
});

describe('session windows', () => {
  function sessionsOf(records: Array<{ key: Windowed<string>; value: string[] | null }>): string[] {
    return records.map(({ key, value }) => `${key.key}[${key.window.start},${key.window.end}]=${value === null ? 'null' : value.join(',')}`);
  }

  async function collecting(windows: SessionWindows) {
    const late: string[] = [];
    const builder = new StreamsBuilder();
    builder
      .stream('events', strings)
      .groupByKey()
      .windowedBy(windows)
      .aggregate<string[]>(
        () => [],
        (_key, value, aggregate) => [...aggregate, value],
        (_key, left, right) => [...left, ...right],
        { storeName: 'sessions', valueSerde: jsonSerde<string[]>(), onLateRecord: (record) => late.push(String(record.value)) },
      )
      .toStream()
      .to('sessions', windowedLists);
    const d = await start(builder.build());
    const output = d.outputTopic('sessions', windowedLists);
    const input = d.inputTopic('events', strings);
    const stored = async (key: string) =>
      (await collect(d.store<SessionStore<string, string[]>>('sessions').fetch(key))).map((session) => `[${session.start},${session.end}]=${session.value.join(',')}`);
    return { late, stored, pipe: (key: string, timestamp: number) => input.pipe(key, `e${timestamp}`, timestamp), read: async () => sessionsOf(await output.readRecords()) };
  }

  it('merges records within the gap into one session, and starts a new one after the gap', async () => {
    const { pipe, read, stored } = await collecting(SessionWindows.withInactivityGap(10));
    await pipe('u', 0);
    await pipe('u', 10); // exactly the gap after: same session
    await pipe('u', 21); // gap + 1 after the session's end: a new session
    expect(await read()).toEqual(['u[0,0]=e0', 'u[0,0]=null', 'u[0,10]=e0,e10', 'u[21,21]=e21']);
    expect(await stored('u')).toEqual(['[0,10]=e0,e10', '[21,21]=e21']);
  });

  it('a record inside a session updates it without a tombstone', async () => {
    const { pipe, read, stored } = await collecting(SessionWindows.withInactivityGap(10));
    await pipe('u', 0);
    await pipe('u', 8);
    await pipe('u', 4);
    expect(await read()).toEqual(['u[0,0]=e0', 'u[0,0]=null', 'u[0,8]=e0,e8', 'u[0,8]=e0,e8,e4']);
    expect(await stored('u')).toEqual(['[0,8]=e0,e8,e4']);
  });

  it('a record bridging two sessions merges them into one, with the values merged and the old sessions deleted', async () => {
    const { pipe, read, stored } = await collecting(SessionWindows.withInactivityGap(10));
    await pipe('u', 0);
    await pipe('u', 5);
    await pipe('u', 20); // 15 after 5: a second session
    await pipe('v', 12); // another key is never merged with u
    expect(await read()).toEqual(['u[0,0]=e0', 'u[0,0]=null', 'u[0,5]=e0,e5', 'u[20,20]=e20', 'v[12,12]=e12']);
    await pipe('u', 12); // within 10 of both 5 and 20
    expect(await read()).toEqual(['u[0,5]=null', 'u[20,20]=null', 'u[0,20]=e0,e5,e20,e12']);
    expect(await stored('u')).toEqual(['[0,20]=e0,e5,e20,e12']);
    expect(await stored('v')).toEqual(['[12,12]=e12']);
  });

  it('drops records that could only extend a session closed for gap + grace', async () => {
    const { pipe, read, late, stored } = await collecting(SessionWindows.withInactivityGap(10));
    await pipe('u', 0);
    await pipe('w', 100); // stream time 100
    await pipe('u', 5); // would extend [0,0] to [0,5]: 5 + 10 < 100
    await pipe('x', 89); // a new session ending at 89: 89 + 10 < 100
    await pipe('y', 90); // a new session ending at 90: 90 + 10 == stream time, still open
    expect(await read()).toEqual(['u[0,0]=e0', 'w[100,100]=e100', 'y[90,90]=e90']);
    expect(late).toEqual(['e5', 'e89']);
    expect(await stored('u')).toEqual(['[0,0]=e0']);
  });

  it('grace keeps sessions open longer', async () => {
    const { pipe, read, late } = await collecting(SessionWindows.withInactivityGap(10).grace(5));
    await pipe('w', 100);
    await pipe('x', 84); // 84 + 15 < 100
    await pipe('y', 85); // 85 + 15 == 100
    expect(await read()).toEqual(['w[100,100]=e100', 'y[85,85]=e85']);
    expect(late).toEqual(['e84']);
  });

  it('counts and reduces per session', async () => {
    const builder = new StreamsBuilder();
    const grouped = builder.stream('events', strings).groupByKey();
    grouped.windowedBy(SessionWindows.withInactivityGap(15)).count({ storeName: 'session-counts' }).toStream().to('counts', windowedCounts);
    grouped
      .windowedBy(SessionWindows.withInactivityGap(15))
      .reduce((left, right) => `${left}|${right}`, { storeName: 'session-concat' })
      .toStream()
      .to('concat', { key: jsonSerde<Windowed<string>>(), value: stringSerde });
    const d = await start(builder.build());
    const input = d.inputTopic('events', strings);
    for (const [value, timestamp] of [['a', 0], ['b', 30], ['c', 15]] as const) await input.pipe('u', value, timestamp);
    const counts = (await d.outputTopic('counts', windowedCounts).readRecords()).map(({ key, value }) => `[${key.window.start},${key.window.end}]=${value}`);
    expect(counts).toEqual(['[0,0]=1', '[30,30]=1', '[0,0]=null', '[30,30]=null', '[0,30]=3']);
    const concat = (await d.outputTopic('concat', { key: jsonSerde<Windowed<string>>(), value: stringSerde }).readRecords()).map(({ key, value }) => `[${key.window.start},${key.window.end}]=${value}`);
    expect(concat).toEqual(['[0,0]=a', '[30,30]=b', '[0,0]=null', '[30,30]=null', '[0,30]=a|b|c']);
  });
});
