import type { SyncSerde } from '../serde.ts';
import type { BytesStore } from './bytes-store.ts';
import type { StateStore } from './state-store.ts';

/** Read access, which is all interactive queries get. */
export interface ReadOnlyKeyValueStore<K, V> extends StateStore {
  get(key: K): Promise<V | undefined>;
  all(): AsyncGenerator<[K, V]>;
  /**
   * Entries with `from` <= key < `to` (either bound optional), in the order of the serialized
   * keys' bytes: a key serde that keeps order (big-endian numbers first, say) makes it a range of
   * the keys' values.
   */
  range(from?: K, to?: K): AsyncGenerator<[K, V]>;
}

export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  put(key: K, value: V): void;
  delete(key: K): void;
}

export class LevelKeyValueStore<K, V> implements KeyValueStore<K, V> {
  constructor(
    private readonly bytes: BytesStore,
    private readonly keySerde: SyncSerde<K>,
    private readonly valueSerde: SyncSerde<V>,
  ) {}

  get name(): string {
    return this.bytes.name;
  }

  async get(key: K): Promise<V | undefined> {
    const value = await this.bytes.get(this.keySerde.serialize(key));
    return value === undefined ? undefined : this.valueSerde.deserialize(value);
  }

  put(key: K, value: V): void {
    this.bytes.put(this.keySerde.serialize(key), this.valueSerde.serialize(value));
  }

  delete(key: K): void {
    this.bytes.delete(this.keySerde.serialize(key));
  }

  all(): AsyncGenerator<[K, V]> {
    return this.range();
  }

  async *range(from?: K, to?: K): AsyncGenerator<[K, V]> {
    const gte = from === undefined ? undefined : this.keySerde.serialize(from);
    const lt = to === undefined ? undefined : this.keySerde.serialize(to);
    for await (const [key, value] of this.bytes.range(gte, lt)) {
      yield [this.keySerde.deserialize(key), this.valueSerde.deserialize(value)];
    }
  }
}
