import type { SyncSerde } from '../serde.ts';
import { SessionWindowedAggregateProcessor, TimeWindowedAggregateProcessor, type Aggregator, type Initializer, type Merger } from '../processors/aggregate.ts';
import type { StoreKind } from '../topology.ts';
import type { SessionWindows, TimeWindows, Windowed } from '../windows.ts';
import type { KTable, SessionWindowedKStream, TimeWindowedKStream, WindowedAggregateOptions } from './api.ts';
import type { StreamNode } from './graph.ts';
import { KTableImpl } from './ktable.ts';

/** Repartitions the grouped stream if needed and adds the aggregation's store: the stream to aggregate. */
export type PrepareAggregation<K, V> = (storeName: string, kind: StoreKind, valueSerde: SyncSerde<unknown> | undefined) => StreamNode<K, V>;

export class TimeWindowedKStreamImpl<K, V> implements TimeWindowedKStream<K, V> {
  constructor(
    private readonly prepare: PrepareAggregation<K, V>,
    private readonly windows: TimeWindows,
  ) {}

  aggregate<A>(initializer: Initializer<A>, aggregator: Aggregator<K, V, A>, options: WindowedAggregateOptions<A>): KTable<Windowed<K>, A> {
    const input = this.prepare(options.storeName, 'window', options.valueSerde as SyncSerde<unknown> | undefined);
    const node = input.graph.addProcessor(
      input.nodeName,
      `${options.storeName}-aggregate`,
      () => new TimeWindowedAggregateProcessor<K, V, A>(options.storeName, this.windows, initializer, aggregator, options.onLateRecord),
      [options.storeName],
    );
    return new KTableImpl<Windowed<K>, A>(input.graph, node, options.storeName, undefined);
  }

  count(options: Omit<WindowedAggregateOptions<number>, 'valueSerde'>): KTable<Windowed<K>, number> {
    return this.aggregate(() => 0, (_key, _value, count) => count + 1, options);
  }

  reduce(reducer: (aggregate: V, value: V) => V, options: WindowedAggregateOptions<V>): KTable<Windowed<K>, V> {
    return this.aggregate<V | null>(() => null, (_key, value, aggregate) => (aggregate === null ? value : reducer(aggregate, value)), options as WindowedAggregateOptions<V | null>) as KTable<Windowed<K>, V>;
  }
}

export class SessionWindowedKStreamImpl<K, V> implements SessionWindowedKStream<K, V> {
  constructor(
    private readonly prepare: PrepareAggregation<K, V>,
    private readonly windows: SessionWindows,
  ) {}

  aggregate<A>(initializer: Initializer<A>, aggregator: Aggregator<K, V, A>, merger: Merger<K, A>, options: WindowedAggregateOptions<A>): KTable<Windowed<K>, A> {
    const input = this.prepare(options.storeName, 'session', options.valueSerde as SyncSerde<unknown> | undefined);
    const node = input.graph.addProcessor(
      input.nodeName,
      `${options.storeName}-aggregate`,
      () => new SessionWindowedAggregateProcessor<K, V, A>(options.storeName, this.windows, initializer, aggregator, merger, options.onLateRecord),
      [options.storeName],
    );
    return new KTableImpl<Windowed<K>, A>(input.graph, node, options.storeName, undefined);
  }

  count(options: Omit<WindowedAggregateOptions<number>, 'valueSerde'>): KTable<Windowed<K>, number> {
    return this.aggregate(() => 0, (_key, _value, count) => count + 1, (_key, left, right) => left + right, options);
  }

  reduce(reducer: (aggregate: V, value: V) => V, options: WindowedAggregateOptions<V>): KTable<Windowed<K>, V> {
    const merge = (left: V | null, right: V | null) => (left === null ? right : right === null ? left : reducer(left, right));
    return this.aggregate<V | null>(() => null, (_key, value, aggregate) => merge(aggregate, value), (_key, left, right) => merge(left, right), options as WindowedAggregateOptions<V | null>) as KTable<Windowed<K>, V>;
  }
}
