import { describe, expect, it } from 'vitest';
import {
  ContextualProcessor,
  jsonSerde,
  partitionForKey,
  StreamsBuilder,
  Stores,
  stringSerde,
  type KeyValueStore,
  type ProcessorContext,
  type StreamRecord,
  type WindowStore,
} from '../src/index.ts';
import { TopologyTestDriver } from '../src/test-driver.ts';
import { collect, strings, useTopologyDriver } from './support/driver.ts';

interface Seen {
  value: string;
  firstSeen: number;
  streamTime: number;
  source: string;
  task: string;
}
const seenSerdes = { key: stringSerde, value: jsonSerde<Seen>() };

const { start } = useTopologyDriver();

/** Forwards only the first record of each key, remembering when it was seen. */
class Deduplicate extends ContextualProcessor<string, string, string, Seen> {
  private store!: KeyValueStore<string, number>;

  override init(context: ProcessorContext<string, Seen>): void {
    super.init(context);
    this.store = context.getStateStore('first-seen');
  }

  async process(record: StreamRecord<string, string>): Promise<void> {
    if ((await this.store.get(record.key)) !== undefined) return;
    this.store.put(record.key, record.timestamp);
    const source = this.context.source!;
    await this.context.forward({
      ...record,
      value: {
        value: record.value,
        firstSeen: record.timestamp,
        streamTime: this.context.streamTime,
        source: `${source.topic}/${source.partition}@${source.offset}`,
        task: `${this.context.applicationId}:${this.context.taskId}:${this.context.partition}`,
      },
    });
  }
}

describe('processor API', () => {
  function deduplicating() {
    const builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValue<string, number>('first-seen', stringSerde));
    builder.stream('events', strings).process(() => new Deduplicate(), { stores: ['first-seen'], serdes: seenSerdes, name: 'dedup' }).to('unique');
    return builder.build();
  }

  it('runs a ContextualProcessor with its store: reads, writes, forwards', async () => {
    const topology = deduplicating();
    expect(topology.resolve('dedup-app').internalTopics).toEqual([{ name: 'dedup-app-first-seen-changelog', kind: 'changelog', subtopology: 0 }]);
    const d = await start(topology, { applicationId: 'dedup-app' });
    const input = d.inputTopic('events', strings);
    await input.pipe('a', 'first a', 50);
    await input.pipe('b', 'first b', 30); // out of order: stream time stays 50
    await input.pipe('a', 'second a', 60);
    await input.pipe('c', 'first c', 70);
    expect(await d.outputTopic('unique', seenSerdes).readValues()).toEqual([
      { value: 'first a', firstSeen: 50, streamTime: 50, source: 'events/0@0', task: 'dedup-app:0_0:0' },
      { value: 'first b', firstSeen: 30, streamTime: 50, source: 'events/0@1', task: 'dedup-app:0_0:0' },
      // stream time is updated before the record is processed
      { value: 'first c', firstSeen: 70, streamTime: 70, source: 'events/0@3', task: 'dedup-app:0_0:0' },
    ]);
    const store = d.store<KeyValueStore<string, number>>('first-seen');
    expect(await store.get('a')).toBe(50);
    expect(await store.get('b')).toBe(30);
  });

  it('gives each partition its own task, offsets and store', async () => {
    const d = await start(deduplicating(), { partitions: 3 });
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
    for (const key of keys) await d.inputTopic('events', strings).pipe(key, key, 10);
    const output = await d.outputTopic('unique', seenSerdes).readRecords();
    const nextOffset = [0, 0, 0];
    expect(output.map((record) => record.value!.source)).toEqual(
      keys.map((key) => {
        const partition = partitionForKey(Buffer.from(key), 3);
        return `events/${partition}@${nextOffset[partition]!++}`;
      }),
    );
    expect(output.map((record) => record.value!.task)).toEqual(keys.map((key) => `test-app:0_${partitionForKey(Buffer.from(key), 3)}:${partitionForKey(Buffer.from(key), 3)}`));
    for (const key of keys) {
      const partition = partitionForKey(Buffer.from(key), 3);
      expect(await d.store<KeyValueStore<string, number>>('first-seen', partition).get(key)).toBe(10);
      expect(await d.store<KeyValueStore<string, number>>('first-seen', (partition + 1) % 3).get(key)).toBeUndefined();
    }
    expect(() => d.store('first-seen')).toThrow(/exists in 3 partitions/);
  });

  it('gives a record the same offset in every sub-topology that reads its topic', async () => {
    const seen: string[] = [];
    class Recorder extends ContextualProcessor<string, string> {
      constructor(private readonly tag: string) {
        super();
      }
      process(): void {
        seen.push(`${this.tag}@${this.context.source?.offset}`);
      }
    }
    const builder = new StreamsBuilder();
    builder.stream('events', strings).process(() => new Recorder('first'));
    builder.stream('events', strings).process(() => new Recorder('second'));
    const d = await start(builder.build());
    await d.inputTopic('events', strings).pipe('k', 'v', 1);
    await d.inputTopic('events', strings).pipe('k', 'v', 2);
    expect(seen).toEqual(['first@0', 'second@0', 'first@1', 'second@1']);
    expect(d.rawRecords('events').map((record) => record.offset)).toEqual(['0', '1']);
  });

  it('forwards to every child, and context.source is undefined outside of processing', async () => {
    let sourceAtInit: unknown = 'not called';
    class Split extends ContextualProcessor<string, string, string, string> {
      override init(context: ProcessorContext<string, string>): void {
        super.init(context);
        sourceAtInit = context.source;
      }
      async process(record: StreamRecord<string, string>): Promise<void> {
        for (const part of record.value.split(' ')) await this.context.forward({ ...record, value: part, timestamp: record.timestamp + 1 });
      }
    }
    const builder = new StreamsBuilder();
    const parts = builder.stream('lines', strings).process(() => new Split(), { serdes: strings });
    parts.to('all-parts');
    parts.filter((_key, value) => value.startsWith('x')).to('x-parts');
    const d = await start(builder.build());
    expect(sourceAtInit).toBeUndefined();
    await d.inputTopic('lines', strings).pipe('k', 'xa b xc', 5);
    expect((await d.outputTopic('all-parts', strings).readRecords()).map(({ value, timestamp }) => [value, timestamp])).toEqual([
      ['xa', 6],
      ['b', 6],
      ['xc', 6],
    ]);
    expect(await d.outputTopic('x-parts', strings).readValues()).toEqual(['xa', 'xc']);
  });

  it('offers window stores to processors', async () => {
    class PerMinute extends ContextualProcessor<string, string, string, number> {
      async process(record: StreamRecord<string, string>): Promise<void> {
        const store = this.context.getStateStore<WindowStore<string, number>>('per-minute');
        const start = record.timestamp - (record.timestamp % 60_000);
        const count = ((await store.get(record.key, start)) ?? 0) + 1;
        store.put(record.key, start, count);
        await this.context.forward({ ...record, value: count });
      }
    }
    const builder = new StreamsBuilder();
    builder.addStateStore(Stores.window<string, number>('per-minute', stringSerde, 3_600_000));
    builder.stream('hits', strings).process(() => new PerMinute(), { stores: ['per-minute'] });
    const d = await start(builder.build());
    for (const timestamp of [1_000, 59_999, 60_000, 61_000, 62_000]) await d.inputTopic('hits', strings).pipe('page', 'hit', timestamp);
    expect(await collect(d.store<WindowStore<string, number>>('per-minute').fetch('page', 0, 60_000))).toEqual([
      { start: 0, value: 2 },
      { start: 60_000, value: 3 },
    ]);
  });

  describe('store access', () => {
    class Peeker extends ContextualProcessor<string, string> {
      constructor(private readonly storeName: string) {
        super();
      }
      async process(record: StreamRecord<string, string>): Promise<void> {
        this.context.getStateStore<KeyValueStore<string, string>>(this.storeName).put(record.key, record.value);
        await this.context.forward(record);
      }
    }

    it('throws when a processor uses a store it did not declare, even one of a sibling processor', async () => {
      const builder = new StreamsBuilder();
      builder.addStateStore(Stores.keyValue<string, string>('owned', stringSerde));
      const stream = builder.stream('events', strings);
      stream.process(() => new Peeker('owned'), { stores: ['owned'], name: 'owner' });
      stream.process(() => new Peeker('owned'), { name: 'intruder' }).to('out', strings);
      const d = await start(builder.build());
      await d.inputTopic('events', strings).pipe('k', 'v', 1);
      expect(d.deadLetters).toEqual([{ topic: 'events', partition: 0, offset: '0', stage: 'processing', error: 'processing failed: processor intruder has no access to a store named owned' }]);
      // The record is all-or-nothing: the owner's write (made before the intruder failed) is gone too.
      expect(await d.store<KeyValueStore<string, string>>('owned').get('k')).toBeUndefined();
      expect(d.rawRecords('out')).toEqual([]);
    });

    it('throws at start when init() asks for an undeclared store', async () => {
      class Greedy extends ContextualProcessor<string, string> {
        override init(context: ProcessorContext<string, string>): void {
          super.init(context);
          context.getStateStore('elsewhere');
        }
        process(): void {}
      }
      const builder = new StreamsBuilder();
      builder.addStateStore(Stores.keyValue('elsewhere', stringSerde));
      builder.stream('events', strings).process(() => new Greedy(), { name: 'greedy' });
      await expect(TopologyTestDriver.create(builder.build())).rejects.toThrow('processor greedy has no access to a store named elsewhere');
    });

    it('refuses to build a topology whose processor names a store never added', () => {
      const builder = new StreamsBuilder();
      builder.stream('events', strings).process(() => new Peeker('missing'), { stores: ['missing'], name: 'needs-missing' });
      expect(() => builder.build()).toThrow('processor needs-missing uses the store missing, which was never added (addStateStore)');
    });
  });
});
