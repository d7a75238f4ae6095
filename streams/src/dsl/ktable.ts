import { passThrough } from '../processors/stateless.ts';
import type { KStream, KTable, Named, StreamSerdes } from './api.ts';
import type { TopologyGraph } from './graph.ts';
import { KStreamImpl } from './kstream.ts';

/** A changelog stream: the latest value per key, materialized in `storeName`. */
export class KTableImpl<K, V> implements KTable<K, V> {
  constructor(
    private readonly graph: TopologyGraph,
    private readonly nodeName: string,
    readonly storeName: string,
    private readonly serdes: StreamSerdes<K, V> | undefined,
  ) {}

  toStream(named: Named = {}): KStream<K, V> {
    const name = this.graph.addProcessor(this.nodeName, named.name ?? this.graph.nextName('KTABLE-TOSTREAM'), passThrough<K, V>());
    return new KStreamImpl<K, V>(this.graph, name, this.serdes, false);
  }
}
