import { jsonSerde, type SyncSerde } from '../serde.ts';
import type { StoreBuilder } from './api.ts';

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
