import type { Processor, ProcessorSupplier } from './processor.ts';
import type { StreamRecord } from './record.ts';
import { jsonSerde, type KeyValueSerdes, type Serde, type SyncSerde } from './serde.ts';
import {
  Topology,
  type GlobalStoreDefinition,
  type StoreDefinition,
  type StoreKind,
  type Subtopology,
  type TopicReference,
  type TopologyNode,
} from './topology.ts';
import { passThrough, recordMapper } from './processors/stateless.ts';
import { TableSourceProcessor } from './processors/table-source.ts';
import { StreamGlobalTableJoinProcessor, StreamStreamJoinProcessor, StreamTableJoinProcessor } from './processors/joins.ts';
import {
  AggregateProcessor,
  SessionWindowedAggregateProcessor,
  TimeWindowedAggregateProcessor,
  type Aggregator,
  type Initializer,
  type LateRecordListener,
  type Merger,
} from './processors/aggregate.ts';
import { type JoinWindows, type SessionWindows, type TimeWindows, type Windowed } from './windows.ts';

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

export const Stores = {
  /**
   * A key-value store. With `retentionMs`, an entry goes that long after the timestamp of the
   * record that last wrote it (checked on the wall clock, a pass over the store every tenth of
   * the retention): the store holds recent keys, not every key ever.
   */
  keyValue<K, V>(name: string, keySerde: SyncSerde<K>, valueSerde: SyncSerde<V> = jsonSerde<V>(), options: { retentionMs?: number } = {}): StoreBuilder<K, V> {
    return { name, kind: 'key-value', keySerde, valueSerde, ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}) };
  },
  window<K, V>(name: string, keySerde: SyncSerde<K>, retentionMs: number, valueSerde: SyncSerde<V> = jsonSerde<V>()): StoreBuilder<K, V> {
    return { name, kind: 'window', keySerde, valueSerde, retentionMs };
  },
};

interface MutableNode {
  node: TopologyNode;
  order: number;
}

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
  private readonly nodes = new Map<string, MutableNode>();
  private readonly stores = new Map<string, StoreDefinition>();
  private readonly globalStores: GlobalStoreDefinition[] = [];
  /** Stores that have a source node feeding them without a processor edge (source-topic tables). */
  private readonly storeOwners = new Map<string, string[]>();
  private counter = 0;

  /** @internal */
  nextName(prefix: string): string {
    this.counter += 1;
    return `${prefix}-${String(this.counter).padStart(10, '0')}`;
  }

  /** @internal */
  addNode(node: TopologyNode, parent?: string): void {
    if (this.nodes.has(node.name)) throw new Error(`the topology already has a node named ${node.name}`);
    this.nodes.set(node.name, { node, order: this.nodes.size });
    if (parent !== undefined) {
      const parentNode = this.nodes.get(parent)?.node;
      if (!parentNode) throw new Error(`no node named ${parent}`);
      if (parentNode.kind === 'sink') throw new Error(`a sink (${parent}) has no children`);
      parentNode.children.push(node.name);
    }
    if (node.kind === 'processor') for (const store of node.stores) this.connectStore(store, node.name);
  }

  /** @internal */
  addProcessor<KIn, VIn, KOut, VOut>(parent: string, name: string, supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>, stores: string[] = []): string {
    this.addNode({ kind: 'processor', name, supplier: supplier as ProcessorSupplier<unknown, unknown, unknown, unknown>, stores, children: [] }, parent);
    return name;
  }

  /** @internal */
  addStore(definition: StoreDefinition): void {
    if (this.stores.has(definition.name)) throw new Error(`the topology already has a store named ${definition.name}`);
    this.stores.set(definition.name, definition);
  }

  /** @internal Adds an edge to an existing node (merge points have two parents). */
  connect(parent: string, child: string): void {
    const parentNode = this.nodes.get(parent)?.node;
    if (!parentNode || parentNode.kind === 'sink') throw new Error(`cannot connect ${parent} to ${child}`);
    parentNode.children.push(child);
  }

  private connectStore(store: string, node: string): void {
    this.storeOwners.set(store, [...(this.storeOwners.get(store) ?? []), node]);
  }

  stream<K, V>(topic: string | string[], serdes: StreamSerdes<K, V>, options: { name?: string } = {}): KStream<K, V> {
    return this.source((Array.isArray(topic) ? topic : [topic]).map((external) => ({ external })), serdes, options.name ?? this.nextName('KSTREAM-SOURCE'));
  }

  /** @internal A stream from topics given by reference (internal repartition topics too). */
  source<K, V>(topics: TopicReference[], serdes: StreamSerdes<K, V>, name: string): KStream<K, V> {
    this.addNode({ kind: 'source', name, topics, serdes: serdes as KeyValueSerdes<unknown, unknown>, children: [] });
    return new KStream<K, V>(this, name, serdes, false);
  }

  /**
   * The topic as a table: latest value per key, materialized in the store `storeName`,
   * restored from the topic itself (no changelog topic).
   */
  table<K, V>(topic: string, serdes: StreamSerdes<K, V>, options: { storeName: string; storeValueSerde?: SyncSerde<V>; retentionMs?: number }): KTable<K, V> {
    const source = this.nextName('KTABLE-SOURCE');
    this.addNode({ kind: 'source', name: source, topics: [{ external: topic }], serdes: serdes as KeyValueSerdes<unknown, unknown>, children: [] });
    this.addStore({
      name: options.storeName,
      kind: 'key-value',
      keySerde: serdes.key as SyncSerde<unknown>,
      valueSerde: (options.storeValueSerde ?? jsonSerde<V>()) as SyncSerde<unknown>,
      changelog: { kind: 'source-topic', topic },
      // The topic's own retention (retention.ms): the table keeps what the topic still has, and a
      // restore from the topic gives the same table.
      ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
    });
    const materialize = this.addProcessor(source, this.nextName('KTABLE-MATERIALIZE'), () => new TableSourceProcessor<K, V>(options.storeName), [options.storeName]);
    return new KTable<K, V>(this, materialize, options.storeName, serdes);
  }

  /** The whole topic (every partition) on every instance, for joins by any key. */
  globalTable<K, V>(topic: string, serdes: StreamSerdes<K, V>, options: { storeName: string; storeValueSerde?: SyncSerde<V> }): GlobalKTable<K, V> {
    if (this.globalStores.some((global) => global.store.name === options.storeName) || this.stores.has(options.storeName)) {
      throw new Error(`the topology already has a store named ${options.storeName}`);
    }
    this.globalStores.push({
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
    return new GlobalKTable<K, V>(options.storeName);
  }

  /** A store for processors of the processor API (`stream.process(..., { stores })`), with a changelog. */
  addStateStore<K, V>(store: StoreBuilder<K, V>): this {
    this.addStore({
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
    const nodes = new Map<string, TopologyNode>([...this.nodes.entries()].map(([name, { node }]) => [name, node]));
    for (const [store, users] of this.storeOwners) {
      if (!this.stores.has(store) && !this.globalStores.some((global) => global.store.name === store)) {
        throw new Error(`processor ${users[0]} uses the store ${store}, which was never added (addStateStore)`);
      }
    }
    return new Topology(nodes, new Map(this.stores), [...this.globalStores], this.subtopologies());
  }

  /** Connected components of the graph, joined also through shared (non-global) stores. */
  private subtopologies(): Subtopology[] {
    const parent = new Map<string, string>();
    const find = (name: string): string => {
      let root = name;
      while (parent.get(root) !== root) root = parent.get(root)!;
      parent.set(name, root);
      return root;
    };
    const union = (left: string, right: string) => {
      const a = find(left);
      const b = find(right);
      if (a !== b) parent.set(b, a);
    };
    for (const name of this.nodes.keys()) parent.set(name, name);
    for (const [name, { node }] of this.nodes) for (const child of node.children) union(name, child);
    for (const [store, users] of this.storeOwners) {
      if (!this.stores.has(store)) continue; // global stores are on every task
      for (const user of users.slice(1)) union(users[0]!, user);
    }
    const components = new Map<string, string[]>();
    const ordered = [...this.nodes.entries()].sort(([, left], [, right]) => left.order - right.order);
    for (const [name] of ordered) {
      const root = find(name);
      components.set(root, [...(components.get(root) ?? []), name]);
    }
    return [...components.values()].map((members, id) => {
      const sources: TopicReference[] = [];
      const stores = new Set<string>();
      const readers = new Map<string, string>();
      for (const member of members) {
        const node = this.nodes.get(member)!.node;
        if (node.kind === 'source') {
          for (const topic of node.topics) {
            // A task hands each record of a topic to one source node: a second one would starve.
            const shown = 'external' in topic ? topic.external : topic.internal;
            const other = readers.get(shown);
            if (other !== undefined) throw new Error(`sources ${other} and ${node.name} both read ${shown} in one sub-topology: read the topic once and reuse the stream`);
            readers.set(shown, node.name);
            sources.push(topic);
          }
        }
        if (node.kind === 'processor') for (const store of node.stores) if (this.stores.has(store)) stores.add(store);
      }
      return { id, sources, nodes: members, stores: [...stores] };
    });
  }
}

export interface Named {
  name?: string;
}

export class GlobalKTable<K, V> {
  /** @internal */
  readonly types?: [K, V];
  constructor(readonly storeName: string) {}
}

/** A record stream. */
export class KStream<K, V> {
  constructor(
    /** @internal */ readonly builder: StreamsBuilder,
    /** @internal */ readonly nodeName: string,
    /** @internal */ readonly serdes: StreamSerdes<K, V> | undefined,
    /** @internal */ readonly keyChanged: boolean,
  ) {}

  private derive<K2, V2>(name: string, serdes: StreamSerdes<K2, V2> | undefined, keyChanged: boolean): KStream<K2, V2> {
    return new KStream<K2, V2>(this.builder, name, serdes, keyChanged);
  }

  private mapper<K2, V2>(
    prefix: string,
    named: Named,
    transform: (record: StreamRecord<K, V>) => Iterable<StreamRecord<K2, V2>> | Promise<Iterable<StreamRecord<K2, V2>>>,
  ): string {
    return this.builder.addProcessor(this.nodeName, named.name ?? this.builder.nextName(prefix), recordMapper(transform));
  }

  filter(predicate: (key: K, value: V) => boolean, named: Named = {}): KStream<K, V> {
    const name = this.mapper('KSTREAM-FILTER', named, (record) => (predicate(record.key, record.value) ? [record] : []));
    return this.derive(name, this.serdes, this.keyChanged);
  }

  filterNot(predicate: (key: K, value: V) => boolean, named: Named = {}): KStream<K, V> {
    return this.filter((key, value) => !predicate(key, value), named);
  }

  mapValues<V2>(mapper: (value: V, key: K) => V2, options: Named & { valueSerde?: Serde<V2> } = {}): KStream<K, V2> {
    const name = this.mapper('KSTREAM-MAPVALUES', options, (record) => [{ ...record, value: mapper(record.value, record.key) }]);
    const serdes = this.serdes && options.valueSerde ? { key: this.serdes.key, value: options.valueSerde } : undefined;
    return this.derive(name, serdes, this.keyChanged);
  }

  flatMapValues<V2>(mapper: (value: V, key: K) => Iterable<V2>, options: Named & { valueSerde?: Serde<V2> } = {}): KStream<K, V2> {
    const name = this.mapper('KSTREAM-FLATMAPVALUES', options, (record) => [...mapper(record.value, record.key)].map((value) => ({ ...record, value })));
    const serdes = this.serdes && options.valueSerde ? { key: this.serdes.key, value: options.valueSerde } : undefined;
    return this.derive(name, serdes, this.keyChanged);
  }

  /** New key (and so, before a join or aggregation, a repartition). */
  selectKey<K2>(selector: (key: K, value: V) => K2, options: Named & { keySerde?: SyncSerde<K2> } = {}): KStream<K2, V> {
    const name = this.mapper('KSTREAM-KEY-SELECT', options, (record) => [{ ...record, key: selector(record.key, record.value) }]);
    const serdes = this.serdes && options.keySerde ? { key: options.keySerde, value: this.serdes.value } : undefined;
    return this.derive(name, serdes, true);
  }

  map<K2, V2>(mapper: (key: K, value: V) => [K2, V2], options: Named & { serdes?: StreamSerdes<K2, V2> } = {}): KStream<K2, V2> {
    const name = this.mapper('KSTREAM-MAP', options, (record) => {
      const [key, value] = mapper(record.key, record.value);
      return [{ ...record, key, value }];
    });
    return this.derive(name, options.serdes, true);
  }

  peek(action: (key: K, value: V) => void, named: Named = {}): KStream<K, V> {
    const name = this.mapper('KSTREAM-PEEK', named, (record) => {
      action(record.key, record.value);
      return [record];
    });
    return this.derive(name, this.serdes, this.keyChanged);
  }

  /** Custom logic with the processor API; `stores` names stores added with `builder.addStateStore`. */
  process<K2, V2>(supplier: () => Processor<K, V, K2, V2>, options: Named & { stores?: string[]; serdes?: StreamSerdes<K2, V2>; changesKey?: boolean } = {}): KStream<K2, V2> {
    const name = this.builder.addProcessor(this.nodeName, options.name ?? this.builder.nextName('KSTREAM-PROCESSOR'), supplier, options.stores ?? []);
    return this.derive(name, options.serdes, options.changesKey ?? this.keyChanged);
  }

  merge(other: KStream<K, V>, named: Named = {}): KStream<K, V> {
    const name = named.name ?? this.builder.nextName('KSTREAM-MERGE');
    this.builder.addProcessor(this.nodeName, name, passThrough());
    this.builder.connect(other.nodeName, name);
    return this.derive(name, this.serdes ?? other.serdes, this.keyChanged || other.keyChanged);
  }

  /** Writes to a topic, or to the topic `chooser` names for each record. */
  to(topic: string | ((key: K, value: V) => string), serdes: StreamSerdes<K, V> | undefined = this.serdes, named: Named = {}): void {
    if (!serdes) throw new Error(`to(${typeof topic === 'string' ? topic : 'topic per record'}) needs serdes: this stream's types changed, so pass them`);
    this.builder.addNode(
      {
        kind: 'sink',
        name: named.name ?? this.builder.nextName('KSTREAM-SINK'),
        topic: typeof topic === 'string' ? { external: topic } : (topic as (key: unknown, value: unknown) => string),
        serdes: serdes as KeyValueSerdes<unknown, unknown>,
        children: [],
      },
      this.nodeName,
    );
  }

  /**
   * Sends the stream through `<app>-<name>-repartition`, partitioned by its current key: for a
   * processor whose stores are keyed by the new key (joins and aggregations do this themselves).
   */
  repartition(options: { name: string; serdes?: StreamSerdes<K, V> }): KStream<K, V> {
    return new KStream<K, V>(this.builder, this.nodeName, this.serdes, true).repartitionIfNeeded(options.name, options.serdes);
  }

  /** @internal Sends the stream through `<app>-<name>-repartition` when its key changed. */
  repartitionIfNeeded(name: string, serdes: StreamSerdes<K, V> | undefined): KStream<K, V> {
    if (!this.keyChanged) return serdes && !this.serdes ? this.derive(this.nodeName, serdes, false) : this;
    const chosen = serdes ?? this.serdes;
    if (!chosen) throw new Error(`${name} repartitions this stream (its key changed) and needs key and value serdes: pass { serdes }`);
    const topic = { internal: `${name}-repartition` };
    this.builder.addNode({ kind: 'sink', name: `${name}-repartition-sink`, topic, serdes: chosen as KeyValueSerdes<unknown, unknown>, children: [] }, this.nodeName);
    return this.builder.source<K, V>([topic], chosen, `${name}-repartition-source`);
  }

  join<VT, VOut>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT) => VOut, options: Named & { serdes?: StreamSerdes<K, V> } = {}): KStream<K, VOut> {
    return this.tableJoin(table, (value, tableValue) => joiner(value, tableValue as VT), false, options);
  }

  leftJoin<VT, VOut>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined) => VOut, options: Named & { serdes?: StreamSerdes<K, V> } = {}): KStream<K, VOut> {
    return this.tableJoin(table, joiner, true, options);
  }

  private tableJoin<VT, VOut>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined) => VOut, leftJoin: boolean, options: Named & { serdes?: StreamSerdes<K, V> }): KStream<K, VOut> {
    const name = options.name ?? this.builder.nextName(leftJoin ? 'KSTREAM-LEFTJOIN' : 'KSTREAM-JOIN');
    const input = this.repartitionIfNeeded(name, options.serdes);
    const node = this.builder.addProcessor(input.nodeName, name, () => new StreamTableJoinProcessor<K, V, VT, VOut>(table.storeName, joiner, leftJoin), [table.storeName]);
    return this.derive(node, undefined, false);
  }

  joinGlobal<GK, GV, VOut>(table: GlobalKTable<GK, GV>, keySelector: (key: K, value: V) => GK, joiner: (value: V, tableValue: GV) => VOut, named: Named = {}): KStream<K, VOut> {
    const name = named.name ?? this.builder.nextName('KSTREAM-GLOBALJOIN');
    this.builder.addProcessor(this.nodeName, name, () => new StreamGlobalTableJoinProcessor<K, V, GK, GV, VOut>(table.storeName, keySelector, (value, tableValue) => joiner(value, tableValue as GV), false), [table.storeName]);
    return this.derive(name, undefined, this.keyChanged);
  }

  leftJoinGlobal<GK, GV, VOut>(table: GlobalKTable<GK, GV>, keySelector: (key: K, value: V) => GK, joiner: (value: V, tableValue: GV | undefined) => VOut, named: Named = {}): KStream<K, VOut> {
    const name = named.name ?? this.builder.nextName('KSTREAM-GLOBALLEFTJOIN');
    this.builder.addProcessor(this.nodeName, name, () => new StreamGlobalTableJoinProcessor<K, V, GK, GV, VOut>(table.storeName, keySelector, joiner, true), [table.storeName]);
    return this.derive(name, undefined, this.keyChanged);
  }

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
  ): KStream<K, VOut> {
    const { name } = options;
    const left = this.repartitionIfNeeded(`${name}-this`, options.serdes);
    const right = other.repartitionIfNeeded(`${name}-other`, options.otherSerdes);
    const keySerde = left.serdes?.key ?? right.serdes?.key;
    if (!keySerde) throw new Error(`joinStream ${name} needs the key serde: pass { serdes }`);
    const thisStore = `${name}-this-buffer`;
    const otherStore = `${name}-other-buffer`;
    for (const [store, serde] of [[thisStore, options.bufferSerdes?.value], [otherStore, options.bufferSerdes?.otherValue]] as const) {
      this.builder.addStore({ name: store, kind: 'join-buffer', keySerde: keySerde as SyncSerde<unknown>, valueSerde: (serde ?? jsonSerde()) as SyncSerde<unknown>, changelog: { kind: 'internal' }, retentionMs: windows.retentionMs });
    }
    const merged = `${name}-merge`;
    const leftNode = this.builder.addProcessor(left.nodeName, `${name}-this-join`, () => new StreamStreamJoinProcessor<K, V, VO, VOut>(thisStore, otherStore, windows, true, joiner), [thisStore, otherStore]);
    const rightNode = this.builder.addProcessor(right.nodeName, `${name}-other-join`, () => new StreamStreamJoinProcessor<K, VO, V, VOut>(otherStore, thisStore, windows, false, (otherValue, value) => joiner(value, otherValue)), [otherStore, thisStore]);
    this.builder.addProcessor(leftNode, merged, passThrough());
    this.builder.connect(rightNode, merged);
    return this.derive(merged, undefined, false);
  }

  groupByKey(options: { serdes?: StreamSerdes<K, V>; name?: string } = {}): KGroupedStream<K, V> {
    return new KGroupedStream<K, V>(this, options.serdes, options.name);
  }

  groupBy<K2>(selector: (key: K, value: V) => K2, options: { serdes?: StreamSerdes<K2, V>; name?: string } = {}): KGroupedStream<K2, V> {
    return new KGroupedStream<K2, V>(this.selectKey(selector, options.name ? { name: `${options.name}-key-select` } : {}), options.serdes, options.name);
  }
}

/** A stream grouped by key, ready to aggregate. */
export class KGroupedStream<K, V> {
  /** The repartitioned stream of a named grouping, shared by all its aggregations. */
  private repartitioned: KStream<K, V> | undefined;

  constructor(
    private readonly stream: KStream<K, V>,
    private readonly serdes: StreamSerdes<K, V> | undefined,
    private readonly name: string | undefined,
  ) {}

  private prepare(storeName: string, kind: StoreKind, valueSerde: SyncSerde<unknown> | undefined, retentionMs?: number): KStream<K, V> {
    // A named grouping repartitions once, through `<name>-repartition`, however many
    // aggregations use it (as in Kafka Streams); an unnamed one gets a topic per aggregation.
    const input = this.repartitioned ?? this.stream.repartitionIfNeeded(this.name ?? storeName, this.serdes);
    if (this.name !== undefined) this.repartitioned = input;
    const keySerde = input.serdes?.key ?? this.serdes?.key;
    if (!keySerde) throw new Error(`the aggregation into ${storeName} needs the key serde: pass { serdes } to groupBy/groupByKey`);
    input.builder.addStore({
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
    const node = input.builder.addProcessor(input.nodeName, `${options.storeName}-aggregate`, () => new AggregateProcessor<K, V, A>(options.storeName, initializer, aggregator), [options.storeName]);
    return new KTable<K, A>(input.builder, node, options.storeName, undefined);
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
    return 'sizeMs' in windows ? new TimeWindowedKStream<K, V>(prepare, windows) : new SessionWindowedKStream<K, V>(prepare, windows);
  }
}

type PrepareAggregation<K, V> = (storeName: string, kind: StoreKind, valueSerde: SyncSerde<unknown> | undefined) => KStream<K, V>;

export interface WindowedAggregateOptions<A> {
  storeName: string;
  valueSerde?: SyncSerde<A>;
  /** Called for each record dropped because its window had closed (for metrics and logs). */
  onLateRecord?: LateRecordListener;
}

export class TimeWindowedKStream<K, V> {
  constructor(
    private readonly prepare: PrepareAggregation<K, V>,
    private readonly windows: TimeWindows,
  ) {}

  aggregate<A>(initializer: Initializer<A>, aggregator: Aggregator<K, V, A>, options: WindowedAggregateOptions<A>): KTable<Windowed<K>, A> {
    const input = this.prepare(options.storeName, 'window', options.valueSerde as SyncSerde<unknown> | undefined);
    const node = input.builder.addProcessor(
      input.nodeName,
      `${options.storeName}-aggregate`,
      () => new TimeWindowedAggregateProcessor<K, V, A>(options.storeName, this.windows, initializer, aggregator, options.onLateRecord),
      [options.storeName],
    );
    return new KTable<Windowed<K>, A>(input.builder, node, options.storeName, undefined);
  }

  count(options: Omit<WindowedAggregateOptions<number>, 'valueSerde'>): KTable<Windowed<K>, number> {
    return this.aggregate(() => 0, (_key, _value, count) => count + 1, options);
  }

  reduce(reducer: (aggregate: V, value: V) => V, options: WindowedAggregateOptions<V>): KTable<Windowed<K>, V> {
    return this.aggregate<V | null>(() => null, (_key, value, aggregate) => (aggregate === null ? value : reducer(aggregate, value)), options as WindowedAggregateOptions<V | null>) as KTable<Windowed<K>, V>;
  }
}

export class SessionWindowedKStream<K, V> {
  constructor(
    private readonly prepare: PrepareAggregation<K, V>,
    private readonly windows: SessionWindows,
  ) {}

  aggregate<A>(initializer: Initializer<A>, aggregator: Aggregator<K, V, A>, merger: Merger<K, A>, options: WindowedAggregateOptions<A>): KTable<Windowed<K>, A> {
    const input = this.prepare(options.storeName, 'session', options.valueSerde as SyncSerde<unknown> | undefined);
    const node = input.builder.addProcessor(
      input.nodeName,
      `${options.storeName}-aggregate`,
      () => new SessionWindowedAggregateProcessor<K, V, A>(options.storeName, this.windows, initializer, aggregator, merger, options.onLateRecord),
      [options.storeName],
    );
    return new KTable<Windowed<K>, A>(input.builder, node, options.storeName, undefined);
  }

  count(options: Omit<WindowedAggregateOptions<number>, 'valueSerde'>): KTable<Windowed<K>, number> {
    return this.aggregate(() => 0, (_key, _value, count) => count + 1, (_key, left, right) => left + right, options);
  }

  reduce(reducer: (aggregate: V, value: V) => V, options: WindowedAggregateOptions<V>): KTable<Windowed<K>, V> {
    const merge = (left: V | null, right: V | null) => (left === null ? right : right === null ? left : reducer(left, right));
    return this.aggregate<V | null>(() => null, (_key, value, aggregate) => merge(aggregate, value), (_key, left, right) => merge(left, right), options as WindowedAggregateOptions<V | null>) as KTable<Windowed<K>, V>;
  }
}

/** A changelog stream: the latest value per key, materialized in `storeName`. */
export class KTable<K, V> {
  constructor(
    private readonly builder: StreamsBuilder,
    private readonly nodeName: string,
    readonly storeName: string,
    private readonly serdes: StreamSerdes<K, V> | undefined,
  ) {}

  /** Every update of the table as a record; a deletion (or a session merged away) has a null value. */
  toStream(named: Named = {}): KStream<K, V> {
    const name = this.builder.addProcessor(this.nodeName, named.name ?? this.builder.nextName('KTABLE-TOSTREAM'), passThrough<K, V>());
    return new KStream<K, V>(this.builder, name, this.serdes, false);
  }
}
