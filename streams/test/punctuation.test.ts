import { describe, expect, it } from 'vitest';
import { ContextualProcessor, jsonSerde, StreamsBuilder, Stores, stringSerde, type KeyValueStore, type ProcessorContext, type PunctuationType, type StreamRecord, type SyncSerde } from '../src/index.ts';
import { collect, strings, useTopologyDriver } from './support/driver.ts';

const { start } = useTopologyDriver();

/** Counts records per key, and on each punctuation forwards the counts and forgets them. */
class Tally extends ContextualProcessor<string, string, string, string> {
  private counts!: KeyValueStore<string, number>;

  constructor(
    private readonly type: PunctuationType,
    private readonly failOnce = { pending: false },
  ) {
    super();
  }

  override init(context: ProcessorContext<string, string>): void {
    super.init(context);
    this.counts = context.getStateStore('counts');
    context.schedule(1_000, this.type, async (timestamp) => {
      for await (const [key, count] of this.counts.all()) {
        await this.context.forward({ key, value: `${count}@${timestamp}`, timestamp, headers: {} });
        this.counts.delete(key);
      }
      if (this.failOnce.pending) {
        this.failOnce.pending = false;
        throw new Error('the punctuation failed');
      }
    });
  }

  async process({ key }: StreamRecord<string, string>): Promise<void> {
    this.counts.put(key, ((await this.counts.get(key)) ?? 0) + 1);
  }
}

function tallying(type: PunctuationType, failOnce?: { pending: boolean }) {
  const builder = new StreamsBuilder();
  builder.addStateStore(Stores.keyValue('counts', stringSerde, jsonSerde<number>()));
  builder.stream('events', strings).process(() => new Tally(type, failOnce), { stores: ['counts'], name: 'tally' }).to('tallies', strings);
  return builder.build();
}

describe('punctuation (schedule)', () => {
  it('wall clock: runs when the clock has moved an interval, with access to the stores and forward', async () => {
    const driver = await start(tallying('wall-clock'), { wallClockStartMs: 0 });
    const input = driver.inputTopic('events', strings);
    await input.pipe('a', 'x', 10);
    await input.pipe('a', 'x', 20);
    await input.pipe('b', 'x', 30);
    await driver.advanceWallClockTime(999);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([]);
    await driver.advanceWallClockTime(1);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([['a', '2@1000'], ['b', '1@1000']]);
    // Missed intervals are not made up for: one run, and the next one an interval later.
    await input.pipe('a', 'x', 40);
    await driver.advanceWallClockTime(5_000);
    await driver.advanceWallClockTime(999);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([['a', '1@6000']]);
  });

  it('stream time: runs as record timestamps pass each interval, and not with the wall clock', async () => {
    const driver = await start(tallying('stream-time'), { wallClockStartMs: 0 });
    const input = driver.inputTopic('events', strings);
    await input.pipe('a', 'x', 5_000);
    await input.pipe('a', 'x', 5_500);
    await driver.advanceWallClockTime(60_000);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([]);
    await input.pipe('b', 'x', 6_000);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([['a', '2@6000'], ['b', '1@6000']]);
  });

  it('rolls back a punctuation that fails: its store changes and outputs are dropped, and it runs again at its next time', async () => {
    const failOnce = { pending: true };
    const driver = await start(tallying('wall-clock', failOnce), { wallClockStartMs: 0 });
    await driver.inputTopic('events', strings).pipe('a', 'x', 1);
    await driver.advanceWallClockTime(1_000);
    expect(driver.deadLetters.map((letter) => letter.stage)).toEqual(['punctuation']);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([]);
    expect(await driver.store<KeyValueStore<string, number>>('counts').get('a')).toBe(1);
    await driver.advanceWallClockTime(1_000);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([['a', '1@2000']]);
  });
});

/** Big-endian numbers: byte order is number order, which range() relies on. */
const orderedNumber: SyncSerde<number> = {
  serialize: (value) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(BigInt(value));
    return bytes;
  },
  deserialize: (bytes) => Number(bytes.readBigUInt64BE(0)),
};

describe('key-value range', () => {
  it('reads the keys from one bound to the other in byte order, committed and uncommitted entries together', async () => {
    const builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValue('deadlines', orderedNumber, stringSerde));
    class Index extends ContextualProcessor<string, string> {
      override init(context: ProcessorContext<string, string>): void {
        super.init(context);
      }
      process({ key, timestamp }: StreamRecord<string, string>): void {
        this.context.getStateStore<KeyValueStore<number, string>>('deadlines').put(timestamp, key);
      }
    }
    builder.stream('events', strings).process(() => new Index(), { stores: ['deadlines'], name: 'index' });
    const driver = await start(builder.build());
    const input = driver.inputTopic('events', strings);
    for (const [key, timestamp] of [['c', 300], ['a', 100], ['d', 1_000], ['b', 256]] as const) await input.pipe(key, 'x', timestamp);
    const store = driver.store<KeyValueStore<number, string>>('deadlines');
    expect(await collect(store.range(100, 300))).toEqual([[100, 'a'], [256, 'b']]);
    expect(await collect(store.range(undefined, 257))).toEqual([[100, 'a'], [256, 'b']]);
    expect(await collect(store.range(257))).toEqual([[300, 'c'], [1_000, 'd']]);
  });
});

describe('timestamps from the future', () => {
  it('dead-letters a record stamped further ahead of the clock than allowed, which then moves no stream time', async () => {
    const driver = await start(tallying('stream-time'), { wallClockStartMs: 1_000_000, maxFutureTimestampMs: 60_000 });
    const input = driver.inputTopic('events', strings);
    await input.pipe('a', 'x', 1_000_000);
    await input.pipe('poison', 'x', 1_000_000 + 365 * 24 * 3_600_000);
    expect(driver.deadLetters).toEqual([expect.objectContaining({ stage: 'timestamp', error: expect.stringMatching(/ahead of the clock/) })]);
    // Stream time stayed where it was: no punctuation ran for the poison's year.
    await input.pipe('a', 'x', 1_000_500);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([]);
    await input.pipe('a', 'x', 1_001_000);
    expect(await driver.outputTopic('tallies', strings).readKeyValues()).toEqual([['a', '3@1001000']]);
  });
});

describe('stores with a retention', () => {
  it('a key-value store forgets an entry once its retention has passed since the timestamp of the record that last wrote it', async () => {
    const builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValue('recent', stringSerde, stringSerde, { retentionMs: 10_000 }));
    class Remember extends ContextualProcessor<string, string> {
      process({ key, value }: StreamRecord<string, string>): void {
        this.context.getStateStore<KeyValueStore<string, string>>('recent').put(key, value);
      }
    }
    builder.stream('events', strings).process(() => new Remember(), { stores: ['recent'], name: 'remember' });
    const driver = await start(builder.build(), { wallClockStartMs: 100_000 });
    const input = driver.inputTopic('events', strings);
    await input.pipe('old', 'a', 95_000);
    await input.pipe('new', 'b', 100_000);
    await input.pipe('rewritten', 'c', 91_000);
    await input.pipe('rewritten', 'd', 99_000);
    const store = driver.store<KeyValueStore<string, string>>('recent');
    expect(await collect(store.all())).toEqual([['new', 'b'], ['old', 'a'], ['rewritten', 'd']]);
    await driver.advanceWallClockTime(5_000);
    // 'old' (95 s + 10 s) is due; 'rewritten' counts from its last write (99 s).
    expect(await collect(store.all())).toEqual([['new', 'b'], ['rewritten', 'd']]);
    await driver.advanceWallClockTime(5_000);
    expect(await collect(store.all())).toEqual([]);
  });

  it('a table keeps the rows its topic\'s retention still keeps, by their records\' timestamps', async () => {
    const builder = new StreamsBuilder();
    builder.table('prices', strings, { storeName: 'prices', storeValueSerde: stringSerde, retentionMs: 60_000 });
    const driver = await start(builder.build(), { wallClockStartMs: 1_000_000 });
    const input = driver.inputTopic('prices', strings);
    await input.pipe('a', '1', 930_000);
    await input.pipe('b', '2', 990_000);
    await driver.advanceWallClockTime(10_000);
    expect(await collect(driver.store<KeyValueStore<string, string>>('prices').all())).toEqual([['b', '2']]);
  });
});
