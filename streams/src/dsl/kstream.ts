import type { Processor } from '../processor.ts';
import type { StreamRecord } from '../record.ts';
import { jsonSerde, type KeyValueSerdes, type Serde, type SyncSerde } from '../serde.ts';
import { passThrough, recordMapper } from '../processors/stateless.ts';
import { StreamGlobalTableJoinProcessor, StreamStreamJoinProcessor, StreamTableJoinProcessor } from '../processors/joins.ts';
import type { JoinWindows } from '../windows.ts';
import type { GlobalKTable, KGroupedStream, KStream, KTable, Named, StreamSerdes } from './api.ts';
import type { StreamNode, TopologyGraph } from './graph.ts';

/** A record stream: each operator adds a node to the graph and returns the stream after it. */
export class KStreamImpl<K, V> implements KStream<K, V>, StreamNode<K, V> {
  constructor(
    readonly graph: TopologyGraph,
    readonly nodeName: string,
    readonly serdes: StreamSerdes<K, V> | undefined,
    /** Whether an operator since the source may have changed the key (so grouping repartitions). */
    readonly keyChanged: boolean,
  ) {}

  private derive<K2, V2>(name: string, serdes: StreamSerdes<K2, V2> | undefined, keyChanged: boolean): KStreamImpl<K2, V2> {
    return new KStreamImpl<K2, V2>(this.graph, name, serdes, keyChanged);
  }

  private mapper<K2, V2>(
    prefix: string,
    named: Named,
    transform: (record: StreamRecord<K, V>) => Iterable<StreamRecord<K2, V2>> | Promise<Iterable<StreamRecord<K2, V2>>>,
  ): string {
    return this.graph.addProcessor(this.nodeName, named.name ?? this.graph.nextName(prefix), recordMapper(transform));
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

  process<K2, V2>(supplier: () => Processor<K, V, K2, V2>, options: Named & { stores?: string[]; serdes?: StreamSerdes<K2, V2>; changesKey?: boolean } = {}): KStream<K2, V2> {
    const name = this.graph.addProcessor(this.nodeName, options.name ?? this.graph.nextName('KSTREAM-PROCESSOR'), supplier, options.stores ?? []);
    return this.derive(name, options.serdes, options.changesKey ?? this.keyChanged);
  }

  merge(otherStream: KStream<K, V>, named: Named = {}): KStream<K, V> {
    const other = otherStream as KStreamImpl<K, V>;
    const name = named.name ?? this.graph.nextName('KSTREAM-MERGE');
    this.graph.addProcessor(this.nodeName, name, passThrough());
    this.graph.connect(other.nodeName, name);
    return this.derive(name, this.serdes ?? other.serdes, this.keyChanged || other.keyChanged);
  }

  to(topic: string | ((key: K, value: V) => string), serdes: StreamSerdes<K, V> | undefined = this.serdes, named: Named = {}): void {
    if (!serdes) throw new Error(`to(${typeof topic === 'string' ? topic : 'topic per record'}) needs serdes: this stream's types changed, so pass them`);
    this.graph.addNode(
      {
        kind: 'sink',
        name: named.name ?? this.graph.nextName('KSTREAM-SINK'),
        topic: typeof topic === 'string' ? { external: topic } : (topic as (key: unknown, value: unknown) => string),
        serdes: serdes as KeyValueSerdes<unknown, unknown>,
        children: [],
      },
      this.nodeName,
    );
  }

  repartition(options: { name: string; serdes?: StreamSerdes<K, V> }): KStream<K, V> {
    return new KStreamImpl<K, V>(this.graph, this.nodeName, this.serdes, true).repartitionIfNeeded(options.name, options.serdes);
  }

  repartitionIfNeeded(name: string, serdes: StreamSerdes<K, V> | undefined): KStreamImpl<K, V> {
    if (!this.keyChanged) return serdes && !this.serdes ? this.derive(this.nodeName, serdes, false) : this;
    const chosen = serdes ?? this.serdes;
    if (!chosen) throw new Error(`${name} repartitions this stream (its key changed) and needs key and value serdes: pass { serdes }`);
    const topic = { internal: `${name}-repartition` };
    this.graph.addNode({ kind: 'sink', name: `${name}-repartition-sink`, topic, serdes: chosen as KeyValueSerdes<unknown, unknown>, children: [] }, this.nodeName);
    return new KStreamImpl<K, V>(this.graph, this.graph.addSource([topic], chosen, `${name}-repartition-source`), chosen, false);
  }

  join<VT, VOut>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT) => VOut, options: Named & { serdes?: StreamSerdes<K, V> } = {}): KStream<K, VOut> {
    return this.tableJoin(table, (value, tableValue) => joiner(value, tableValue as VT), false, options);
  }

  leftJoin<VT, VOut>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined) => VOut, options: Named & { serdes?: StreamSerdes<K, V> } = {}): KStream<K, VOut> {
    return this.tableJoin(table, joiner, true, options);
  }

  private tableJoin<VT, VOut>(table: KTable<K, VT>, joiner: (value: V, tableValue: VT | undefined) => VOut, leftJoin: boolean, options: Named & { serdes?: StreamSerdes<K, V> }): KStream<K, VOut> {
    const name = options.name ?? this.graph.nextName(leftJoin ? 'KSTREAM-LEFTJOIN' : 'KSTREAM-JOIN');
    const input = this.repartitionIfNeeded(name, options.serdes);
    const node = this.graph.addProcessor(input.nodeName, name, () => new StreamTableJoinProcessor<K, V, VT, VOut>(table.storeName, joiner, leftJoin), [table.storeName]);
    return this.derive(node, undefined, false);
  }

  joinGlobal<GK, GV, VOut>(table: GlobalKTable<GK, GV>, keySelector: (key: K, value: V) => GK, joiner: (value: V, tableValue: GV) => VOut, named: Named = {}): KStream<K, VOut> {
    const name = named.name ?? this.graph.nextName('KSTREAM-GLOBALJOIN');
    this.graph.addProcessor(this.nodeName, name, () => new StreamGlobalTableJoinProcessor<K, V, GK, GV, VOut>(table.storeName, keySelector, (value, tableValue) => joiner(value, tableValue as GV), false), [table.storeName]);
    return this.derive(name, undefined, this.keyChanged);
  }

  leftJoinGlobal<GK, GV, VOut>(table: GlobalKTable<GK, GV>, keySelector: (key: K, value: V) => GK, joiner: (value: V, tableValue: GV | undefined) => VOut, named: Named = {}): KStream<K, VOut> {
    const name = named.name ?? this.graph.nextName('KSTREAM-GLOBALLEFTJOIN');
    this.graph.addProcessor(this.nodeName, name, () => new StreamGlobalTableJoinProcessor<K, V, GK, GV, VOut>(table.storeName, keySelector, joiner, true), [table.storeName]);
    return this.derive(name, undefined, this.keyChanged);
  }

  joinStream<VO, VOut>(
    otherStream: KStream<K, VO>,
    joiner: (value: V, otherValue: VO) => VOut,
    windows: JoinWindows,
    options: { name: string; serdes?: StreamSerdes<K, V>; otherSerdes?: StreamSerdes<K, VO>; bufferSerdes?: { value: SyncSerde<V>; otherValue: SyncSerde<VO> } },
  ): KStream<K, VOut> {
    const { name } = options;
    const left = this.repartitionIfNeeded(`${name}-this`, options.serdes);
    const right = (otherStream as KStreamImpl<K, VO>).repartitionIfNeeded(`${name}-other`, options.otherSerdes);
    const keySerde = left.serdes?.key ?? right.serdes?.key;
    if (!keySerde) throw new Error(`joinStream ${name} needs the key serde: pass { serdes }`);
    const thisStore = `${name}-this-buffer`;
    const otherStore = `${name}-other-buffer`;
    for (const [store, serde] of [[thisStore, options.bufferSerdes?.value], [otherStore, options.bufferSerdes?.otherValue]] as const) {
      this.graph.addStore({ name: store, kind: 'join-buffer', keySerde: keySerde as SyncSerde<unknown>, valueSerde: (serde ?? jsonSerde()) as SyncSerde<unknown>, changelog: { kind: 'internal' }, retentionMs: windows.retentionMs });
    }
    const merged = `${name}-merge`;
    const leftNode = this.graph.addProcessor(left.nodeName, `${name}-this-join`, () => new StreamStreamJoinProcessor<K, V, VO, VOut>(thisStore, otherStore, windows, true, joiner), [thisStore, otherStore]);
    const rightNode = this.graph.addProcessor(right.nodeName, `${name}-other-join`, () => new StreamStreamJoinProcessor<K, VO, V, VOut>(otherStore, thisStore, windows, false, (otherValue, value) => joiner(value, otherValue)), [otherStore, thisStore]);
    this.graph.addProcessor(leftNode, merged, passThrough());
    this.graph.connect(rightNode, merged);
    return this.derive(merged, undefined, false);
  }

  groupByKey(options: { serdes?: StreamSerdes<K, V>; name?: string } = {}): KGroupedStream<K, V> {
    return this.graph.group(this, options.serdes, options.name);
  }

  groupBy<K2>(selector: (key: K, value: V) => K2, options: { serdes?: StreamSerdes<K2, V>; name?: string } = {}): KGroupedStream<K2, V> {
    const rekeyed = this.selectKey(selector, options.name ? { name: `${options.name}-key-select` } : {}) as KStreamImpl<K2, V>;
    return this.graph.group(rekeyed, options.serdes, options.name);
  }
}
