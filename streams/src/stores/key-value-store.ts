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

/**
 * A store with a retention keeps each value behind the timestamp of the record that wrote it
 * (8 bytes, big-endian): the store bytes, its changelog and the entries restored from a source
 * topic all carry it, so expiry reads it back wherever the entry came from.
 */
export function stampValue(timestamp: number, value: Buffer): Buffer {
  const stamped = Buffer.allocUnsafe(8 + value.length);
  stamped.writeBigInt64BE(BigInt(Math.max(0, Math.floor(timestamp))));
  value.copy(stamped, 8);
  return stamped;
}

function stampOf(stamped: Buffer): number {
  return Number(stamped.readBigInt64BE(0));
}

export class LevelKeyValueStore<K, V> implements KeyValueStore<K, V> {
  /** The timestamp of the record (or punctuation) being processed: what a retention counts from (set by the task). */
  recordTime: () => number = Date.now;

  constructor(
    private readonly bytes: BytesStore,
    private readonly keySerde: SyncSerde<K>,
    private readonly valueSerde: SyncSerde<V>,
    /** Entries go this long after the timestamp of the record that last wrote them (undefined: kept for good). */
    readonly retentionMs?: number,
  ) {}

  get name(): string {
    return this.bytes.name;
  }

  private decode(stored: Buffer): V {
    return this.valueSerde.deserialize(this.retentionMs === undefined ? stored : stored.subarray(8));
  }

  async get(key: K): Promise<V | undefined> {
    const value = await this.bytes.get(this.keySerde.serialize(key));
    return value === undefined ? undefined : this.decode(value);
  }

  put(key: K, value: V): void {
    const bytes = this.valueSerde.serialize(value);
    this.bytes.put(this.keySerde.serialize(key), this.retentionMs === undefined ? bytes : stampValue(this.recordTime(), bytes));
  }

  /**
   * Deletes the entries whose retention has ended by `now` (as a topic's retention.ms deletes
   * records by their timestamp), in one pass over the store; returns how many went.
   */
  async expire(now: number): Promise<number> {
    if (this.retentionMs === undefined) return 0;
    let expired = 0;
    // Entries written since the last commit are recent: only committed ones can have expired.
    for await (const [key, stored] of this.bytes.committedEntries()) {
      if (stampOf(stored) + this.retentionMs > now) continue;
      this.bytes.delete(key);
      expired += 1;
    }
    return expired;
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
      yield [this.keySerde.deserialize(key), this.decode(value)];
    }
  }
}
