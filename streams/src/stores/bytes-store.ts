import type { AbstractSublevel, AbstractLevel } from 'abstract-level';

export type LevelDatabase = AbstractLevel<string | Buffer | Uint8Array, Uint8Array, Uint8Array>;
export type BytesSublevel = AbstractSublevel<LevelDatabase, string | Buffer | Uint8Array, Uint8Array, Uint8Array>;

type Entry = Buffer | null;

const maxEntriesPerCachedRange = 1_000;
const maxCachedRanges = 2_000;

interface CachedRange {
  key: string;
  group: string;
  from: string | undefined;
  to: string | undefined;
  entries: Array<[string, Buffer]>;
}

function* concat<T>(...sets: Array<Iterable<T> | undefined>): Generator<T> {
  for (const set of sets) if (set) yield* set;
}

/**
 * The storage under every state store: a LevelDB sublevel plus a write buffer of the
 * changes made since the last commit.
 *
 * The buffer is what makes exactly-once work with a local database: LevelDB only receives
 * changes after the Kafka transaction carrying their changelog records has committed, in
 * one atomic batch together with the changelog offset (the checkpoint). So the local state
 * always equals some committed point of the changelog, and a crash at any moment is
 * repaired by replaying the changelog from the checkpoint. The buffer also collapses many
 * updates of one key into one changelog record per commit.
 *
 * Reads see the buffer first, so a task reads its own uncommitted writes. Below the buffer a
 * bounded cache keeps committed values (and known absences) recently read or written, so most
 * reads do not wait for LevelDB (Kafka Streams keeps a record cache over RocksDB for the same
 * reason). It only ever holds what LevelDB holds.
 */
export class BytesStore {
  private readonly buffered = new Map<string, Entry>();
  /** Committed values by key, least recently used first; null: the key is known to be absent. */
  private readonly cache = new Map<string, Entry>();
  /** Committed entries of recently read key ranges, least recently used first. */
  private readonly ranges = new Map<string, CachedRange>();
  /** Cached ranges by the group both their bounds fall in (other ranges under ''): a change is checked against its group's ranges only. */
  private readonly rangesByGroup = new Map<string, Set<CachedRange>>();
  /** Buffered keys by group, so that a range within one group does not scan the whole buffer. */
  private readonly bufferedByGroup = new Map<string, Set<string>>();
  /** Bumped by every committed change: a range read across a change is not cached. */
  private version = 0;
  /** Undo log of the record being processed, so a record that fails leaves no trace. */
  private undo: Array<[string, Entry | undefined]> | undefined;

  constructor(
    readonly name: string,
    readonly sublevel: BytesSublevel,
    /**
     * The group of a key (windowed stores: the record key its entries share), if the store has
     * groups: ranges within one group are then read and updated without scanning the others.
     */
    private readonly groupOf?: (id: string) => string,
    private readonly maxCached = 10_000,
  ) {}

  /** The one group a range lies in (both bounds in it), or '' for a range across groups. */
  private groupOfRange(from: string | undefined, to: string | undefined): string {
    if (!this.groupOf || from === undefined || to === undefined) return '';
    const group = this.groupOf(from);
    return group !== '' && this.groupOf(to) === group ? group : '';
  }

  private trackBuffered(id: string, present: boolean): void {
    if (!this.groupOf) return;
    const group = this.groupOf(id);
    let ids = this.bufferedByGroup.get(group);
    if (present) {
      if (!ids) this.bufferedByGroup.set(group, (ids = new Set()));
      ids.add(id);
    } else if (ids) {
      ids.delete(id);
      if (ids.size === 0) this.bufferedByGroup.delete(group);
    }
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    const id = key.toString('latin1');
    if (this.buffered.has(id)) return this.buffered.get(id) ?? undefined;
    const cached = this.cache.get(id);
    if (cached !== undefined) {
      this.remember(id, cached);
      return cached ?? undefined;
    }
    // LevelDB answers a read from memory or the page cache in microseconds: a synchronous read
    // (where the database has one) spares the thread-pool round trip of the asynchronous one.
    const stored = (this.sublevel.supports as { getSync?: boolean }).getSync ? this.sublevel.getSync(key) : await this.sublevel.get(key);
    const value = stored === undefined ? null : toBuffer(stored);
    // A write of the same key may have been buffered while LevelDB answered: it wins.
    if (!this.buffered.has(id)) this.remember(id, value);
    return value ?? undefined;
  }

  private remember(id: string, value: Entry): void {
    this.cache.delete(id);
    this.cache.set(id, value);
    if (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Entries written to LevelDB around the buffer (restored or global records): the cache follows. */
  written(entries: ReadonlyArray<[Buffer, Buffer | null]>): void {
    const changes: Array<[string, Entry]> = entries.map(([key, value]) => [key.toString('latin1'), value]);
    for (const [id, value] of changes) if (this.cache.has(id)) this.remember(id, value);
    this.updateRanges(changes);
  }

  /** After the store was emptied in LevelDB. */
  forgetCached(): void {
    this.cache.clear();
    this.ranges.clear();
    this.rangesByGroup.clear();
    this.version += 1;
  }

  put(key: Buffer, value: Buffer | null): void {
    const id = key.toString('latin1');
    this.undo?.push([id, this.buffered.has(id) ? this.buffered.get(id) : undefined]);
    this.buffered.set(id, value);
    this.trackBuffered(id, true);
  }

  delete(key: Buffer): void {
    this.put(key, null);
  }

  /**
   * Entries with gte <= key < lt (each bound optional) in key order, buffered changes merged
   * over LevelDB. The iteration is a snapshot taken when it starts: changes made while
   * iterating (a purge deleting what it reads, an update of a later key) do not affect it.
   * Keys are compared as latin1 strings, which orders them as their bytes.
   */
  async *range(gte?: Buffer, lt?: Buffer): AsyncGenerator<[Buffer, Buffer]> {
    const from = gte?.toString('latin1');
    const to = lt?.toString('latin1');
    const group = this.groupOfRange(from, to);
    const candidates: Iterable<string> = group === '' ? this.buffered.keys() : (this.bufferedByGroup.get(group) ?? []);
    const pending: Array<[string, Entry]> = [];
    for (const id of candidates) if ((from === undefined || id >= from) && (to === undefined || id < to)) pending.push([id, this.buffered.get(id)!]);
    pending.sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    const stored = await this.storedRange(from, to);
    let next = 0;
    for (const [id, value] of stored) {
      for (; next < pending.length && pending[next]![0] <= id; next += 1) {
        const [bufferedId, bufferedValue] = pending[next]!;
        if (bufferedValue !== null) yield [Buffer.from(bufferedId, 'latin1'), bufferedValue];
      }
      // A buffered change of the same key shadows the stored entry.
      if (next > 0 && pending[next - 1]![0] === id) continue;
      yield [Buffer.from(id, 'latin1'), value];
    }
    for (; next < pending.length; next += 1) {
      const [id, value] = pending[next]!;
      if (value !== null) yield [Buffer.from(id, 'latin1'), value];
    }
  }

  /**
   * Every committed entry whose key has no uncommitted change, streamed from LevelDB (not
   * cached, not held in memory at once): for a pass over a whole store (expiry).
   */
  async *committedEntries(): AsyncGenerator<[Buffer, Buffer]> {
    for await (const [key, value] of this.sublevel.iterator()) {
      const bytes = toBuffer(key);
      if (!this.buffered.has(bytes.toString('latin1'))) yield [bytes, toBuffer(value)];
    }
  }

  /**
   * The committed entries of a range, from the range cache or LevelDB. Windowed stores read the
   * same small ranges over and over (a customer's sessions): an iterator is a thread-pool round
   * trip per step, a cached range a copy of an array. A range loaded while a commit changed the
   * store is not cached (the iterator may predate the change).
   */
  private async storedRange(from: string | undefined, to: string | undefined): Promise<Array<[string, Buffer]>> {
    const cacheKey = `${from ?? ''}\u0000${to ?? '\uffff'}`;
    const cached = this.ranges.get(cacheKey);
    if (cached) {
      this.ranges.delete(cacheKey);
      this.ranges.set(cacheKey, cached);
      return cached.entries.slice();
    }
    const version = this.version;
    const entries: Array<[string, Buffer]> = [];
    const bounds = { ...(from !== undefined ? { gte: Buffer.from(from, 'latin1') } : {}), ...(to !== undefined ? { lt: Buffer.from(to, 'latin1') } : {}) };
    // One call for the whole range: an iterator stepped entry by entry costs a round trip to
    // LevelDB's thread pool per step, which a profile of the fraud service showed at 7% of its CPU.
    for (const [key, value] of await this.sublevel.iterator(bounds).all()) entries.push([toBuffer(key).toString('latin1'), toBuffer(value)]);
    if (version === this.version && entries.length <= maxEntriesPerCachedRange) {
      const range: CachedRange = { key: cacheKey, group: this.groupOfRange(from, to), from, to, entries: entries.slice() };
      this.ranges.set(cacheKey, range);
      let grouped = this.rangesByGroup.get(range.group);
      if (!grouped) this.rangesByGroup.set(range.group, (grouped = new Set()));
      grouped.add(range);
      if (this.ranges.size > maxCachedRanges) this.dropRange(this.ranges.values().next().value!);
    }
    return entries;
  }

  private dropRange(range: CachedRange): void {
    this.ranges.delete(range.key);
    const grouped = this.rangesByGroup.get(range.group);
    grouped?.delete(range);
    if (grouped?.size === 0) this.rangesByGroup.delete(range.group);
  }

  /** Keeps the cached ranges equal to LevelDB after committed changes of these keys. */
  private updateRanges(changes: Iterable<[string, Entry]>): void {
    this.version += 1;
    if (this.ranges.size === 0) return;
    const acrossGroups = this.rangesByGroup.get('');
    for (const [id, value] of changes) {
      const grouped = this.groupOf ? this.rangesByGroup.get(this.groupOf(id)) : undefined;
      for (const range of concat(grouped, acrossGroups)) {
        if ((range.from !== undefined && id < range.from) || (range.to !== undefined && id >= range.to)) continue;
        const { entries } = range;
        let low = 0;
        let high = entries.length;
        while (low < high) {
          const middle = (low + high) >> 1;
          if (entries[middle]![0] < id) low = middle + 1;
          else high = middle;
        }
        const exists = low < entries.length && entries[low]![0] === id;
        if (value === null) {
          if (exists) entries.splice(low, 1);
        } else if (exists) entries[low] = [id, value];
        else entries.splice(low, 0, [id, value]);
      }
    }
  }

  /** Starts recording undo information for one record. */
  beginRecord(): void {
    this.undo = [];
  }

  /** Forgets the undo information: the record's changes stay. */
  endRecord(): void {
    this.undo = undefined;
  }

  /** Reverts every change since beginRecord(). */
  rollbackRecord(): void {
    const undo = this.undo ?? [];
    for (let index = undo.length - 1; index >= 0; index -= 1) {
      const [id, previous] = undo[index]!;
      if (previous === undefined) {
        this.buffered.delete(id);
        this.trackBuffered(id, false);
      } else this.buffered.set(id, previous);
    }
    this.undo = undefined;
  }

  get hasChanges(): boolean {
    return this.buffered.size > 0;
  }

  /** The changes since the last commit, one per key, as changelog records (null = tombstone). */
  changes(): Array<[Buffer, Buffer | null]> {
    return [...this.buffered.entries()].map(([id, value]) => [Buffer.from(id, 'latin1'), value]);
  }

  /** The LevelDB operations that apply the buffered changes; the caller writes them atomically. */
  flushOperations(): Array<{ type: 'put'; key: Buffer; value: Buffer; sublevel: BytesSublevel } | { type: 'del'; key: Buffer; sublevel: BytesSublevel }> {
    return [...this.buffered.entries()].map(([id, value]) =>
      value === null
        ? { type: 'del' as const, key: Buffer.from(id, 'latin1'), sublevel: this.sublevel }
        : { type: 'put' as const, key: Buffer.from(id, 'latin1'), value, sublevel: this.sublevel },
    );
  }

  /** After a successful flush: the buffered changes are committed, and cached as such. */
  committed(): void {
    for (const [id, value] of this.buffered) this.remember(id, value);
    this.updateRanges(this.buffered);
    this.clearBuffer();
  }

  /** Drops uncommitted work (after an aborted transaction). */
  clearBuffer(): void {
    this.buffered.clear();
    this.bufferedByGroup.clear();
    this.undo = undefined;
  }
}

export function toBuffer(bytes: Uint8Array | string): Buffer {
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8');
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
