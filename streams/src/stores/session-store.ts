import type { SyncSerde } from '../serde.ts';
import type { BytesStore } from './bytes-store.ts';
import type { StateStore } from './state-store.ts';
import { composite, deleteEntriesBefore, keyPrefix, prefixEnd, readLong, splitComposite } from './windowed-keys.ts';

export interface Session<V> {
  start: number;
  end: number;
  value: V;
}

export interface ReadOnlySessionStore<K, V> extends StateStore {
  /** All sessions of `key`, oldest end first. */
  fetch(key: K): AsyncGenerator<Session<V>>;
  /** The sessions of every key that end at or after `earliestEnd`, by key (serialized), then end: a full scan, for queries. */
  fetchAll(earliestEnd: number): AsyncGenerator<Session<V> & { key: K }>;
}

export interface SessionStore<K, V> extends ReadOnlySessionStore<K, V> {
  /** Sessions of `key` that end at or after `earliestEnd` and start at or before `latestStart`. */
  findSessions(key: K, earliestEnd: number, latestStart: number): Promise<Array<Session<V>>>;
  put(key: K, session: Session<V>): void;
  remove(key: K, session: { start: number; end: number }): void;
  purgeEndedBefore(end: number): Promise<number>;
}

/** Entries keyed by (key, end, start), as Kafka Streams lays out its session stores. */
export class LevelSessionStore<K, V> implements SessionStore<K, V> {
  constructor(
    private readonly bytes: BytesStore,
    private readonly keySerde: SyncSerde<K>,
    private readonly valueSerde: SyncSerde<V>,
  ) {}

  get name(): string {
    return this.bytes.name;
  }

  private id(key: K, start: number, end: number): Buffer {
    return composite(this.keySerde.serialize(key), { value: end, bytes: 8 }, { value: start, bytes: 8 });
  }

  async *fetch(key: K): AsyncGenerator<Session<V>> {
    const prefix = keyPrefix(this.keySerde.serialize(key));
    for await (const [id, value] of this.bytes.range(prefix, prefixEnd(prefix))) {
      const { rest } = splitComposite(id);
      yield { end: readLong(rest, 0), start: readLong(rest, 8), value: this.valueSerde.deserialize(value) };
    }
  }

  async *fetchAll(earliestEnd: number): AsyncGenerator<Session<V> & { key: K }> {
    for await (const [id, value] of this.bytes.range()) {
      const { key, rest } = splitComposite(id);
      const end = readLong(rest, 0);
      if (end >= earliestEnd) yield { key: this.keySerde.deserialize(key), end, start: readLong(rest, 8), value: this.valueSerde.deserialize(value) };
    }
  }

  async findSessions(key: K, earliestEnd: number, latestStart: number): Promise<Array<Session<V>>> {
    // The key's whole range, filtered here: the same range for every record of the key, which
    // the store's range cache then serves (a key has few sessions).
    const prefix = keyPrefix(this.keySerde.serialize(key));
    const found: Array<Session<V>> = [];
    for await (const [id, value] of this.bytes.range(prefix, prefixEnd(prefix))) {
      const { rest } = splitComposite(id);
      const end = readLong(rest, 0);
      const start = readLong(rest, 8);
      if (end >= earliestEnd && start <= latestStart) found.push({ end, start, value: this.valueSerde.deserialize(value) });
    }
    return found;
  }

  put(key: K, session: Session<V>): void {
    this.bytes.put(this.id(key, session.start, session.end), this.valueSerde.serialize(session.value));
  }

  remove(key: K, session: { start: number; end: number }): void {
    this.bytes.delete(this.id(key, session.start, session.end));
  }

  async purgeEndedBefore(end: number): Promise<number> {
    return deleteEntriesBefore(this.bytes, end);
  }
}
