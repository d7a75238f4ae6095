import type { SyncSerde } from '../serde.ts';
import type { BytesStore } from './bytes-store.ts';
import type { StateStore } from './state-store.ts';
import { composite, deleteEntriesBefore, readLong, splitComposite } from './windowed-keys.ts';

/**
 * One side of a windowed stream-stream join: every record of the side by (key, timestamp,
 * sequence). The sequence (the record's source offset) keeps two records with the same key
 * and timestamp apart.
 */
export class LevelJoinBuffer<K, V> implements StateStore {
  constructor(
    private readonly bytes: BytesStore,
    private readonly keySerde: SyncSerde<K>,
    private readonly valueSerde: SyncSerde<V>,
  ) {}

  get name(): string {
    return this.bytes.name;
  }

  put(key: K, timestamp: number, sequence: number, value: V): void {
    this.bytes.put(
      composite(this.keySerde.serialize(key), { value: timestamp, bytes: 8 }, { value: sequence, bytes: 4 }),
      this.valueSerde.serialize(value),
    );
  }

  /** Records of `key` with from <= timestamp <= to, oldest first. */
  async *fetch(key: K, from: number, to: number): AsyncGenerator<{ timestamp: number; value: V }> {
    const serialized = this.keySerde.serialize(key);
    const gte = composite(serialized, { value: Math.max(0, from), bytes: 8 });
    const lt = composite(serialized, { value: to + 1, bytes: 8 });
    for await (const [id, value] of this.bytes.range(gte, lt)) {
      yield { timestamp: readLong(splitComposite(id).rest, 0), value: this.valueSerde.deserialize(value) };
    }
  }

  async purgeBefore(timestamp: number): Promise<number> {
    return deleteEntriesBefore(this.bytes, timestamp);
  }
}
