import { jsonSerde, type SyncSerde } from '../serde.ts';
import { AggregateProcessor, type Aggregator, type Initializer } from '../processors/aggregate.ts';
import type { StoreKind } from '../topology.ts';
import type { SessionWindows, TimeWindows } from '../windows.ts';
import type { KGroupedStream, KTable, SessionWindowedKStream, StreamSerdes, TimeWindowedKStream } from './api.ts';
import type { StreamNode } from './graph.ts';
import { KTableImpl } from './ktable.ts';
import { SessionWindowedKStreamImpl, TimeWindowedKStreamImpl } from './windowed-kstream.ts';

/** A stream grouped by key, ready to aggregate. */
export class KGroupedStreamImpl<K, V> implements KGroupedStream<K, V> {
  /** The repartitioned stream of a named grouping, shared by all its aggregations. */
  private repartitioned: StreamNode<K, V> | undefined;

  constructor(
    private readonly stream: StreamNode<K, V>,
    private readonly serdes: StreamSerdes<K, V> | undefined,
    private readonly name: string | undefined,
  ) {}

  private prepare(storeName: string, kind: StoreKind, valueSerde: SyncSerde<unknown> | undefined, retentionMs?: number): StreamNode<K, V> {
    // A named grouping repartitions once, through `<name>-repartition`, however many
    // aggregations use it (as in Kafka Streams); an unnamed one gets a topic per aggregation.
    const input = this.repartitioned ?? this.stream.repartitionIfNeeded(this.name ?? storeName, this.serdes);
    if (this.name !== undefined) this.repartitioned = input;
    const keySerde = input.serdes?.key ?? this.serdes?.key;
    if (!keySerde) throw new Error(`the aggregation into ${storeName} needs the key serde: pass { serdes } to groupBy/groupByKey`);
    input.graph.addStore({
      name: storeName,
      kind,
      keySerde: keySerde as SyncSerde<unknown>,
      valueSerde: valueSerde ?? jsonSerde(),
      changelog: { kind: 'internal' },
      ...(retentionMs !== undefined ? { retentionMs } : {}),
    });
    return input;
  }

  aggregate<A>(initializer: Initializer<A>, aggregator: Aggregator<K, V, A>, options: { storeName: string; valueSerde?: SyncSerde<A> }): KTable<K, A> {
    const input = this.prepare(options.storeName, 'key-value', options.valueSerde as SyncSerde<unknown> | undefined);
    const node = input.graph.addProcessor(input.nodeName, `${options.storeName}-aggregate`, () => new AggregateProcessor<K, V, A>(options.storeName, initializer, aggregator), [options.storeName]);
    return new KTableImpl<K, A>(input.graph, node, options.storeName, undefined);
  }

  count(options: { storeName: string }): KTable<K, number> {
    return this.aggregate(() => 0, (_key, _value, count) => count + 1, options);
  }

  reduce(reducer: (aggregate: V, value: V) => V, options: { storeName: string; valueSerde?: SyncSerde<V> }): KTable<K, V> {
    return this.aggregate<V | null>(() => null, (_key, value, aggregate) => (aggregate === null ? value : reducer(aggregate, value)), options as { storeName: string; valueSerde?: SyncSerde<V | null> }) as KTable<K, V>;
  }

  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(windows: TimeWindows | SessionWindows): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    const prepare = (storeName: string, kind: StoreKind, valueSerde: SyncSerde<unknown> | undefined) => this.prepare(storeName, kind, valueSerde, windows.retentionMs);
    return 'sizeMs' in windows ? new TimeWindowedKStreamImpl<K, V>(prepare, windows) : new SessionWindowedKStreamImpl<K, V>(prepare, windows);
  }
}
