import type { SyncSerde } from '../serde.ts';
import type { BytesStore } from './bytes-store.ts';
import type { StateStore } from './state-store.ts';
import { composite, deleteEntriesBefore, keyPrefix, maxTimestamp, readLong, splitComposite } from './windowed-keys.ts';

export interface ReadOnlyWindowStore<K, V> extends StateStore {
  /** Values of `key` for windows starting in [fromStart, toStart], oldest first. */
  fetch(key: K, fromStart: number, toStart: number): AsyncGenerator<{ start: number; value: V }>;
  /** Every key's windows starting in [fromStart, toStart]. */
  fetchAll(fromStart: number, toStart: number): AsyncGenerator<{ key: K; start: number; value: V }>;
}

export interface WindowStore<K, V> extends ReadOnlyWindowStore<K, V> {
  get(key: K, start: number): Promise<V | undefined>;
  put(key: K, start: number, value: V): void;
  delete(key: K, start: number): void;
  /** Deletes windows that started before `start` (retention), writing tombstones to the changelog. */
  purgeBefore(start: number): Promise<number>;
}

/** Entries keyed by (key, window start): tumbling-window aggregates. */
export class LevelWindowStore<K, V> implements WindowStore<K, V> {
  constructor(
    private readonly bytes: BytesStore,
    private readonly keySerde: SyncSerde<K>,
    private readonly valueSerde: SyncSerde<V>,
  ) {}

  get name(): string {
    return this.bytes.name;
  }

  private id(key: K, start: number): Buffer {
    return composite(this.keySerde.serialize(key), { value: start, bytes: 8 });
  }

  async get(key: K, start: number): Promise<V | undefined> {
    const value = await this.bytes.get(this.id(key, start));
    return value === undefined ? undefined : this.valueSerde.deserialize(value);
  }

  put(key: K, start: number, value: V): void {
    this.bytes.put(this.id(key, start), this.valueSerde.serialize(value));
  }

  delete(key: K, start: number): void {
    this.bytes.delete(this.id(key, start));
  }

  async *fetch(key: K, fromStart: number, toStart: number): AsyncGenerator<{ start: number; value: V }> {
    const serialized = this.keySerde.serialize(key);
    const gte = composite(serialized, { value: fromStart, bytes: 8 });
    const lt = composite(serialized, { value: toStart + 1, bytes: 8 });
    for await (const [id, value] of this.bytes.range(gte, lt)) {
      yield { start: readLong(splitComposite(id).rest, 0), value: this.valueSerde.deserialize(value) };
    }
  }

  async *fetchAll(fromStart: number, toStart: number): AsyncGenerator<{ key: K; start: number; value: V }> {
    for await (const [id, value] of this.bytes.range()) {
      const { key, rest } = splitComposite(id);
      const start = readLong(rest, 0);
      if (start >= fromStart && start <= toStart) {
        yield { key: this.keySerde.deserialize(key), start, value: this.valueSerde.deserialize(value) };
      }
    }
  }

  async purgeBefore(start: number): Promise<number> {
    return deleteEntriesBefore(this.bytes, start);
  }
}

export { keyPrefix, maxTimestamp };
