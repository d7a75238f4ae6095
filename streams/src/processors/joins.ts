import { ContextualProcessor, type ProcessorContext } from '../processor.ts';
import type { StreamRecord } from '../record.ts';
import type { ReadOnlyKeyValueStore } from '../stores/key-value-store.ts';
import type { LevelJoinBuffer } from '../stores/join-buffer.ts';
import type { JoinWindows } from '../windows.ts';

export type ValueJoiner<V, VOther, VOut> = (value: V, other: VOther) => VOut;

/** Stream-table join: each stream record looks up the table's current value for its key. */
export class StreamTableJoinProcessor<K, V, VTable, VOut> extends ContextualProcessor<K, V, K, VOut> {
  private table!: ReadOnlyKeyValueStore<K, VTable>;

  constructor(
    private readonly tableStore: string,
    private readonly joiner: (value: V, tableValue: VTable | undefined) => VOut,
    private readonly leftJoin: boolean,
  ) {
    super();
  }

  override init(context: ProcessorContext<K, VOut>): void {
    super.init(context);
    this.table = context.getStateStore(this.tableStore);
  }

  async process(record: StreamRecord<K, V>): Promise<void> {
    if (record.key === null || record.key === undefined) return;
    const tableValue = await this.table.get(record.key);
    if (tableValue === undefined && !this.leftJoin) return;
    await this.context.forward({ ...record, value: this.joiner(record.value, tableValue) });
  }
}

/** Stream-global-table join: the record chooses the table key, every instance holds the whole table. */
export class StreamGlobalTableJoinProcessor<K, V, GK, GV, VOut> extends ContextualProcessor<K, V, K, VOut> {
  private table!: ReadOnlyKeyValueStore<GK, GV>;

  constructor(
    private readonly globalStore: string,
    private readonly keySelector: (key: K, value: V) => GK,
    private readonly joiner: (value: V, tableValue: GV | undefined) => VOut,
    private readonly leftJoin: boolean,
  ) {
    super();
  }

  override init(context: ProcessorContext<K, VOut>): void {
    super.init(context);
    this.table = context.getStateStore(this.globalStore);
  }

  async process(record: StreamRecord<K, V>): Promise<void> {
    const tableKey = this.keySelector(record.key, record.value);
    // A record that names no table key has no match (an inner join drops it, a left join keeps it).
    const tableValue = tableKey === null || tableKey === undefined ? undefined : await this.table.get(tableKey);
    if (tableValue === undefined && !this.leftJoin) return;
    await this.context.forward({ ...record, value: this.joiner(record.value, tableValue) });
  }
}

/**
 * One side of a windowed stream-stream inner join. Each record is buffered in its side's
 * store and joined with the other side's buffered records of the same key whose timestamps
 * lie within the join window. The output takes the later of the two timestamps.
 */
export class StreamStreamJoinProcessor<K, V, VOther, VOut> extends ContextualProcessor<K, V, K, VOut> {
  private own!: LevelJoinBuffer<K, V>;
  private other!: LevelJoinBuffer<K, VOther>;
  private lastPurge = 0;

  constructor(
    private readonly ownStore: string,
    private readonly otherStore: string,
    private readonly windows: JoinWindows,
    /** For the left side: other may be `before` earlier or `after` later; mirrored for the right side. */
    private readonly isLeftSide: boolean,
    private readonly joiner: (value: V, other: VOther) => VOut,
  ) {
    super();
  }

  override init(context: ProcessorContext<K, VOut>): void {
    super.init(context);
    this.own = context.getStateStore(this.ownStore);
    this.other = context.getStateStore(this.otherStore);
  }

  async process(record: StreamRecord<K, V>): Promise<void> {
    // As in Kafka Streams, records without a key or a value take no part in the join.
    if (record.key === null || record.key === undefined || record.value === null || record.value === undefined) return;
    const streamTime = this.context.streamTime;
    // Too late: the other side's matching records may already be purged.
    if (record.timestamp < streamTime - this.windows.retentionMs) return;
    const sequence = Number(BigInt(this.context.source?.offset ?? '0') % 4294967296n);
    this.own.put(record.key, record.timestamp, sequence, record.value);

    const earlier = this.isLeftSide ? this.windows.beforeMs : this.windows.afterMs;
    const later = this.isLeftSide ? this.windows.afterMs : this.windows.beforeMs;
    // Buffered records older than the retention are expired even when the periodic purge has
    // not removed them yet: without this bound, whether a pair joins would depend on when the
    // other side last purged (that is, on unrelated traffic).
    const from = Math.max(record.timestamp - earlier, streamTime - this.windows.retentionMs);
    for await (const match of this.other.fetch(record.key, from, record.timestamp + later)) {
      await this.context.forward({
        key: record.key,
        value: this.joiner(record.value, match.value),
        timestamp: Math.max(record.timestamp, match.timestamp),
        headers: record.headers,
      });
    }
    await this.purge(streamTime);
  }

  /** Drops buffered records no future record can join with, at most once per retention period. */
  private async purge(streamTime: number): Promise<void> {
    if (streamTime - this.lastPurge < this.windows.retentionMs) return;
    this.lastPurge = streamTime;
    await this.own.purgeBefore(streamTime - this.windows.retentionMs);
  }
}
