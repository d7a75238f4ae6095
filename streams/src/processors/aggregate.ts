import { ContextualProcessor, type ProcessorContext } from '../processor.ts';
import type { StreamRecord } from '../record.ts';
import type { KeyValueStore } from '../stores/key-value-store.ts';
import type { SessionStore } from '../stores/session-store.ts';
import type { WindowStore } from '../stores/window-store.ts';
import type { SessionWindows, TimeWindows, Windowed } from '../windows.ts';

export type Initializer<A> = () => A;
export type Aggregator<K, V, A> = (key: K, value: V, aggregate: A) => A;
export type Merger<K, A> = (key: K, left: A, right: A) => A;

/** Running aggregate per key, kept in a key-value store; forwards every new value. */
export class AggregateProcessor<K, V, A> extends ContextualProcessor<K, V, K, A> {
  private store!: KeyValueStore<K, A>;

  constructor(
    private readonly storeName: string,
    private readonly initializer: Initializer<A>,
    private readonly aggregator: Aggregator<K, V, A>,
  ) {
    super();
  }

  override init(context: ProcessorContext<K, A>): void {
    super.init(context);
    this.store = context.getStateStore(this.storeName);
  }

  async process(record: StreamRecord<K, V>): Promise<void> {
    if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return;
    const aggregate = this.aggregator(record.key, record.value, (await this.store.get(record.key)) ?? this.initializer());
    this.store.put(record.key, aggregate);
    await this.context.forward({ ...record, value: aggregate });
  }
}

/** Observes records dropped for arriving after their window closed. */
export type LateRecordListener = (record: StreamRecord<unknown, unknown>, streamTime: number) => void;

/** Aggregate per key and tumbling window. Records for a window that has closed are dropped. */
export class TimeWindowedAggregateProcessor<K, V, A> extends ContextualProcessor<K, V, Windowed<K>, A> {
  private store!: WindowStore<K, A>;
  private lastPurge = 0;

  constructor(
    private readonly storeName: string,
    private readonly windows: TimeWindows,
    private readonly initializer: Initializer<A>,
    private readonly aggregator: Aggregator<K, V, A>,
    private readonly onLate: LateRecordListener | undefined,
  ) {
    super();
  }

  override init(context: ProcessorContext<Windowed<K>, A>): void {
    super.init(context);
    this.store = context.getStateStore(this.storeName);
  }

  async process(record: StreamRecord<K, V>): Promise<void> {
    if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return;
    const streamTime = this.context.streamTime;
    const window = this.windows.windowFor(record.timestamp);
    if (!this.windows.isOpen(window, streamTime)) {
      this.onLate?.(record, streamTime);
      return;
    }
    const previous = await this.store.get(record.key, window.start);
    const aggregate = this.aggregator(record.key, record.value, previous ?? this.initializer());
    this.store.put(record.key, window.start, aggregate);
    await this.context.forward({ key: { key: record.key, window }, value: aggregate, timestamp: record.timestamp, headers: record.headers });
    if (streamTime - this.lastPurge >= this.windows.sizeMs) {
      this.lastPurge = streamTime;
      await this.store.purgeBefore(streamTime - this.windows.retentionMs);
    }
  }
}

/**
 * Aggregate per key and session: a record joins every session of its key within the
 * inactivity gap, merging them into one; each session merged away is forwarded as a
 * tombstone (null value) before the merged session. Records that could only extend a
 * closed session are dropped.
 */
export class SessionWindowedAggregateProcessor<K, V, A> extends ContextualProcessor<K, V, Windowed<K>, A | null> {
  private store!: SessionStore<K, A>;
  private lastPurge = 0;

  constructor(
    private readonly storeName: string,
    private readonly windows: SessionWindows,
    private readonly initializer: Initializer<A>,
    private readonly aggregator: Aggregator<K, V, A>,
    private readonly merger: Merger<K, A>,
    private readonly onLate: LateRecordListener | undefined,
  ) {
    super();
  }

  override init(context: ProcessorContext<Windowed<K>, A | null>): void {
    super.init(context);
    this.store = context.getStateStore(this.storeName);
  }

  async process(record: StreamRecord<K, V>): Promise<void> {
    if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return;
    const streamTime = this.context.streamTime;
    const timestamp = record.timestamp;
    const overlapping = await this.store.findSessions(record.key, timestamp - this.windows.gapMs, timestamp + this.windows.gapMs);
    let start = timestamp;
    let end = timestamp;
    let aggregate = this.initializer();
    for (const session of overlapping) {
      start = Math.min(start, session.start);
      end = Math.max(end, session.end);
      aggregate = this.merger(record.key, aggregate, session.value);
    }
    if (!this.windows.isOpen(end, streamTime)) {
      this.onLate?.(record, streamTime);
      return;
    }
    for (const session of overlapping) this.store.remove(record.key, session);
    aggregate = this.aggregator(record.key, record.value, aggregate);
    this.store.put(record.key, { start, end, value: aggregate });
    // Sessions merged into the new one no longer exist: tell downstream with a tombstone, as
    // Kafka Streams does (a session whose window did not change is simply updated).
    for (const session of overlapping) {
      if (session.start === start && session.end === end) continue;
      await this.context.forward({ key: { key: record.key, window: { start: session.start, end: session.end } }, value: null, timestamp, headers: record.headers });
    }
    await this.context.forward({ key: { key: record.key, window: { start, end } }, value: aggregate, timestamp, headers: record.headers });
    if (streamTime - this.lastPurge >= this.windows.gapMs) {
      this.lastPurge = streamTime;
      await this.store.purgeEndedBefore(streamTime - this.windows.retentionMs);
    }
  }
}
