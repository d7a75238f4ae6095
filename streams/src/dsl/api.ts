/**
 * The DSL's public shapes, as in Kafka Streams' `KStream`, `KTable` and friends. They refer to
 * one another (a stream groups into a grouped stream, which aggregates into a table, which
 * turns back into a stream), so they live together here; their implementations, one file each
 * beside this one, import only these shapes and the graph they add nodes to.
 */
import type { Processor } from '../processor.ts';
import type { Aggregator, Initializer, LateRecordListener, Merger } from '../processors/aggregate.ts';
import type { Serde, SyncSerde } from '../serde.ts';
import type { StoreKind } from '../topology.ts';
import type { JoinWindows, SessionWindows, TimeWindows, Windowed } from '../windows.ts';

/** Serdes of a stream: keys are always synchronous (partitioning must not wait), values may not be. */
export interface StreamSerdes<K, V> {
  key: SyncSerde<K>;
  value: Serde<V>;
}

/** A store for the processor API, added with `builder.addStateStore`. */
export interface StoreBuilder<K, V> {
  name: string;
  kind: StoreKind;
  keySerde: SyncSerde<K>;
  valueSerde: SyncSerde<V>;
  retentionMs?: number;
}

export interface Named {
  name?: string;
}

export interface WindowedAggregateOptions<A> {
  storeName: string;
  valueSerde?: SyncSerde<A>;
  /** Called for each record dropped because its window had closed (for metrics and logs). */
  onLateRecord?: LateRecordListener;
}

/** A whole topic (every partition) on every instance, joined by any key. */
export interface GlobalKTable<K, V> {
  readonly storeName: string;
  /** @internal Carries the key and value types; never set. */
  readonly types?: [K, V];
}

/** A changelog stream: the latest value per key, materialized in `storeName`. */
export interface KTable<K, V> {
  readonly storeName: string;
  /** @internal Carries the key and value types; never set. */
  readonly types?: [K, V];
  /** Every update of the table as a record; a deletion (or a session merged away) has a null value. */
  toStream(named?: Named): KStream<K, V>;
}

/** A record stream. */
export interface KStream<K, V> {
  filter(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V>;
  filterNot(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V>;
  mapValues<V2>(mapper: (value: V, key: K) => V2, options?: Named & { valueSerde?: Serde<V2> }): KStream<K, V2>;
  flatMapValues<V2>(mapper: (value: V, key: K) => Iterable<V2>, options?: Named & { valueSerde?: Serde<V2> }): KStream<K, V2>;
  /** New key (and so, before a join or aggregation, a repartition). */
  selectKey<K2>(selector: (key: K, value: V) => K2, options?: Named & { keySerde?: SyncSerde<K2> }): KStream<K2, V>;
  map<K2, V2>(mapper: (key: K, value: V) => [K2, V2], options?: Named & { serdes?: StreamSerdes<K2, V2> }): KStream<K2, V2>;
  peek(action: (key: K, value: V) => void, named?: Named): KStream<K, V>;
  /** Custom logic with the processor API; `stores` names stores added with `builder.addStateStore`. */
  process<K2, V2>(supplier: () => Processor<K, V, K2, V2>, options?: Named & { stores?: string[]; serdes?: StreamSerdes<K2, V2>; changesKey?: boolean }): KStream<K2, V2>;
  merge(other: KStream<K, V>, named?: Named): KStream<K, V>;
  /** Writes to a topic, or to the topic `chooser` names for each record. */
  to(topic: string | ((key: K, value: V) => string), serdes?: StreamSerdes<K, V>, named?: Named): void;
  /**
   * Sends the stream through `<app>-<name>-repartition`, partitioned by its current key: for a
   * processor whose stores are keyed by the new key (joins and aggregations do this themselves).
   */
  repartition(options: { name: string; serdes?: StreamSerdes<K, V> }): KStream<K, V>;
  join<VT, VOut>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT) => VOut, options?: Named & { serdes?: StreamSerdes<K, V> }): KStream<K, VOut>;
  leftJoin<VT, VOut>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined) => VOut, options?: Named & { serdes?: StreamSerdes<K, V> }): KStream<K, VOut>;
  joinGlobal<GK, GV, VOut>(table: GlobalKTable<GK, GV>, keySelector: (key: K, value: V) => GK, joiner: (value: V, tableValue: GV) => VOut, named?: Named): KStream<K, VOut>;
  leftJoinGlobal<GK, GV, VOut>(table: GlobalKTable<GK, GV>, keySelector: (key: K, value: V) => GK, joiner: (value: V, tableValue: GV | undefined) => VOut, named?: Named): KStream<K, VOut>;
  /**
   * Windowed inner join with another stream of the same key: pairs whose timestamps differ by
   * at most the join window. Both sides are buffered in stores (`<name>-this`, `<name>-other`)
   * whose values use `bufferSerdes` (JSON by default).
   */
  joinStream<VO, VOut>(
    other: KStream<K, VO>,
    joiner: (value: V, otherValue: VO) => VOut,
    windows: JoinWindows,
    options: { name: string; serdes?: StreamSerdes<K, V>; otherSerdes?: StreamSerdes<K, VO>; bufferSerdes?: { value: SyncSerde<V>; otherValue: SyncSerde<VO> } },
  ): KStream<K, VOut>;
  groupByKey(options?: { serdes?: StreamSerdes<K, V>; name?: string }): KGroupedStream<K, V>;
  groupBy<K2>(selector: (key: K, value: V) => K2, options?: { serdes?: StreamSerdes<K2, V>; name?: string }): KGroupedStream<K2, V>;
}

/** A stream grouped by key, ready to aggregate. */
export interface KGroupedStream<K, V> {
  aggregate<A>(initializer: Initializer<A>, aggregator: Aggregator<K, V, A>, options: { storeName: string; valueSerde?: SyncSerde<A> }): KTable<K, A>;
  count(options: { storeName: string }): KTable<K, number>;
  reduce(reducer: (aggregate: V, value: V) => V, options: { storeName: string; valueSerde?: SyncSerde<V> }): KTable<K, V>;
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
}

/** A grouped stream cut into time windows (tumbling or hopping). */
export interface TimeWindowedKStream<K, V> {
  aggregate<A>(initializer: Initializer<A>, aggregator: Aggregator<K, V, A>, options: WindowedAggregateOptions<A>): KTable<Windowed<K>, A>;
  count(options: Omit<WindowedAggregateOptions<number>, 'valueSerde'>): KTable<Windowed<K>, number>;
  reduce(reducer: (aggregate: V, value: V) => V, options: WindowedAggregateOptions<V>): KTable<Windowed<K>, V>;
}

/** A grouped stream cut into sessions: activity separated by gaps of inactivity. */
export interface SessionWindowedKStream<K, V> {
  aggregate<A>(initializer: Initializer<A>, aggregator: Aggregator<K, V, A>, merger: Merger<K, A>, options: WindowedAggregateOptions<A>): KTable<Windowed<K>, A>;
  count(options: Omit<WindowedAggregateOptions<number>, 'valueSerde'>): KTable<Windowed<K>, number>;
  reduce(reducer: (aggregate: V, value: V) => V, options: WindowedAggregateOptions<V>): KTable<Windowed<K>, V>;
}
