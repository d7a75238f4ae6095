import type { KeyValueSerdes, SyncSerde } from '../serde.ts';
import { jsonSerde } from '../serde.ts';
import { TableSourceProcessor } from '../processors/table-source.ts';
import type { Topology } from '../topology.ts';
import type { GlobalKTable, KStream, KTable, StoreBuilder, StreamSerdes } from './api.ts';
import { TopologyGraph } from './graph.ts';
import { KGroupedStreamImpl } from './kgrouped-stream.ts';
import { KStreamImpl } from './kstream.ts';
import { KTableImpl } from './ktable.ts';

/**
 * Builds a topology with a Kafka Streams-like DSL. Operators that need records grouped by
 * key (joins, aggregations) after the key was changed (map, selectKey, groupBy) repartition
 * automatically through an internal topic `<application id>-<name>-repartition`.
 *
 * Names: every operator takes an optional `name`; internal topics and stores are named
 * after it. Give stateful operators explicit names: an auto-generated name changes when
 * the code above it changes, and with it the name of its changelog topic.
 */
export class StreamsBuilder {
  private readonly graph = new TopologyGraph((stream, serdes, name) => new KGroupedStreamImpl(stream, serdes, name));

  stream<K, V>(topic: string | string[], serdes: StreamSerdes<K, V>, options: { name?: string } = {}): KStream<K, V> {
    const topics = (Array.isArray(topic) ? topic : [topic]).map((external) => ({ external }));
    return new KStreamImpl<K, V>(this.graph, this.graph.addSource(topics, serdes, options.name ?? this.graph.nextName('KSTREAM-SOURCE')), serdes, false);
  }

  /**
   * The topic as a table: latest value per key, materialized in the store `storeName`,
   * restored from the topic itself (no changelog topic).
   */
  table<K, V>(topic: string, serdes: StreamSerdes<K, V>, options: { storeName: string; storeValueSerde?: SyncSerde<V>; retentionMs?: number }): KTable<K, V> {
    const source = this.graph.addSource([{ external: topic }], serdes, this.graph.nextName('KTABLE-SOURCE'));
    this.graph.addStore({
      name: options.storeName,
      kind: 'key-value',
      keySerde: serdes.key as SyncSerde<unknown>,
      valueSerde: (options.storeValueSerde ?? jsonSerde<V>()) as SyncSerde<unknown>,
      changelog: { kind: 'source-topic', topic },
      // The topic's own retention (retention.ms): the table keeps what the topic still has, and a
      // restore from the topic gives the same table.
      ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
    });
    const materialize = this.graph.addProcessor(source, this.graph.nextName('KTABLE-MATERIALIZE'), () => new TableSourceProcessor<K, V>(options.storeName), [options.storeName]);
    return new KTableImpl<K, V>(this.graph, materialize, options.storeName, serdes);
  }

  /** The whole topic (every partition) on every instance, for joins by any key. */
  globalTable<K, V>(topic: string, serdes: StreamSerdes<K, V>, options: { storeName: string; storeValueSerde?: SyncSerde<V> }): GlobalKTable<K, V> {
    this.graph.addGlobalStore({
      topic,
      serdes: serdes as KeyValueSerdes<unknown, unknown>,
      store: {
        name: options.storeName,
        kind: 'key-value',
        keySerde: serdes.key as SyncSerde<unknown>,
        valueSerde: (options.storeValueSerde ?? jsonSerde<V>()) as SyncSerde<unknown>,
        changelog: { kind: 'source-topic', topic },
      },
    });
    return { storeName: options.storeName };
  }

  /** A store for processors of the processor API (`stream.process(..., { stores })`), with a changelog. */
  addStateStore<K, V>(store: StoreBuilder<K, V>): this {
    this.graph.addStore({
      name: store.name,
      kind: store.kind,
      keySerde: store.keySerde as SyncSerde<unknown>,
      valueSerde: store.valueSerde as SyncSerde<unknown>,
      changelog: { kind: 'internal' },
      ...(store.retentionMs !== undefined ? { retentionMs: store.retentionMs } : {}),
    });
    return this;
  }

  build(): Topology {
    return this.graph.build();
  }
}
