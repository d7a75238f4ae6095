import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import type { FetchedRecord } from '../kafka/fetcher.ts';
import type { KeyValueSerdes } from '../serde.ts';
import type { BytesSublevel, LevelDatabase } from '../stores/bytes-store.ts';
import { openStore, type OpenStore } from '../stores/factory.ts';
import type { ResolvedStore, StoreDefinition } from '../topology.ts';
import type { RuntimeLogger } from './logger.ts';

/** A range of one changelog (or source) partition to replay into a store. */
export interface RestoreRange {
  store: string;
  topic: string;
  partition: number;
  /** First offset to read. */
  from: number;
  /** Offset to read up to (exclusive). */
  to: number;
}

type Operation = { type: 'put'; key: Buffer | string; value: Buffer | string; sublevel: BytesSublevel | MetaSublevel } | { type: 'del'; key: Buffer | string; sublevel: BytesSublevel | MetaSublevel };
type MetaSublevel = ReturnType<typeof metaSublevel>;

function metaSublevel(database: LevelDatabase) {
  return database.sublevel<string, string>('meta', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
}

/**
 * The state of one task (or of the global stores) on local disk: a LevelDB database under
 * `<state dir>/<application id>/<task id>` with a sublevel per store and, in `meta`, each
 * store's checkpoint, the next changelog offset it has not applied. Stores change in memory
 * (see BytesStore) and reach LevelDB only with `flush`, after their changelog records were
 * committed, atomically with the new checkpoints: the local state is always a committed point
 * of the changelog. A database that cannot be opened is wiped and rebuilt from the changelogs.
 */
export class StateManager {
  protected constructor(
    private readonly database: LevelDatabase,
    private readonly meta: MetaSublevel,
    readonly stores: ReadonlyMap<string, OpenStore>,
  ) {}

  /** A task without stores has no database at all (no files, no LevelDB caches in memory). */
  static async open(directory: string, definitions: readonly StoreDefinition[], logger: RuntimeLogger): Promise<StateManager> {
    if (definitions.length === 0) return new StatelessManager();
    const database = await openDatabase(directory, logger);
    const stores = new Map(definitions.map((definition) => [definition.name, openStore(database, definition)]));
    return new StateManager(database, metaSublevel(database), stores);
  }

  /** The next offset of `checkpointKey` (a store, or a store's partition for global stores) not yet applied. */
  async checkpoint(checkpointKey: string): Promise<number> {
    const value = await this.meta.get(`next:${checkpointKey}`);
    return value === undefined ? 0 : Number(value);
  }

  /**
   * Where restoring a store starts: its checkpoint, unless that does not fit the changelog
   * (ahead of its end, or behind records the log no longer has): then the local state belongs
   * to another incarnation of the topic, and the store is wiped and rebuilt from the start.
   */
  async restoreStart(store: ResolvedStore, partition: number, log: { start: number; end: number }, logger: RuntimeLogger, taskId: string): Promise<number> {
    let from = await this.checkpoint(store.name);
    const lostRecords = store.changelog.kind === 'internal' && from < log.start && log.start > 0;
    if (from > log.end || lostRecords) {
      logger.warn({ task: taskId, store: store.name, partition, checkpoint: from, changelogStart: log.start, changelogEnd: log.end }, 'local store does not match its changelog; rebuilding it');
      await this.wipe(store.name);
      from = 0;
    }
    return Math.max(from, log.start);
  }

  private async wipe(storeName: string): Promise<void> {
    const { bytes } = this.stores.get(storeName)!;
    await bytes.sublevel.clear();
    bytes.forgetCached();
    await this.meta.del(`next:${storeName}`);
  }

  /**
   * Writes restored records into a store with its new checkpoint. Changelog records are store
   * bytes already; records of a source topic go through its serdes (`source`), and one that
   * cannot be read is skipped (it was dead-lettered when it was processed).
   */
  async applyRestored(storeName: string, records: readonly FetchedRecord[], nextOffset: number, source?: KeyValueSerdes<unknown, unknown>): Promise<number> {
    const definition = this.stores.get(storeName)!.definition;
    const entries: Array<[Buffer, Buffer | null]> = [];
    for (const record of records) {
      const entry = await storeEntry(definition, record, source).catch(() => null);
      if (entry) entries.push(entry);
    }
    await this.applyEntries(storeName, entries, nextOffset);
    return entries.length;
  }

  /** Writes entries into a store and moves its checkpoint (`checkpointKey`: per partition for global stores), atomically. */
  async applyEntries(storeName: string, entries: ReadonlyArray<[Buffer, Buffer | null]>, nextOffset: number, checkpointKey = storeName): Promise<void> {
    const { bytes } = this.stores.get(storeName)!;
    const { sublevel } = bytes;
    const operations: Operation[] = entries.map(([key, value]) => (value === null ? { type: 'del', key, sublevel } : { type: 'put', key, value, sublevel }));
    operations.push({ type: 'put', key: `next:${checkpointKey}`, value: String(nextOffset), sublevel: this.meta });
    await this.database.batch(operations as never);
    bytes.written(entries);
  }

  /** Writes every store's buffered changes and the given checkpoints in one atomic batch. */
  async flush(checkpoints: ReadonlyMap<string, number>): Promise<void> {
    const operations: Operation[] = [];
    for (const { bytes } of this.stores.values()) operations.push(...bytes.flushOperations());
    for (const [checkpointKey, offset] of checkpoints) operations.push({ type: 'put', key: `next:${checkpointKey}`, value: String(offset), sublevel: this.meta });
    if (operations.length > 0) await this.database.batch(operations as never);
    for (const { bytes } of this.stores.values()) bytes.committed();
  }

  /** Forgets the changes not yet flushed: the stores are back at their last committed state. */
  dropUncommitted(): void {
    for (const { bytes } of this.stores.values()) bytes.clearBuffer();
  }

  async close(): Promise<void> {
    await this.database.close().catch(() => undefined);
  }
}

class StatelessManager extends StateManager {
  constructor() {
    super(undefined as never, undefined as never, new Map());
  }

  override async flush(): Promise<void> {}

  override async close(): Promise<void> {}
}

/**
 * The store entry a record of the store's topic stands for (the one topic-to-store
 * conversion): changelog records are store bytes already; a source topic's record is
 * deserialized with the topic's serdes and serialized with the store's (this throws for a
 * record that cannot be read). Null for a record without a key.
 */
export async function storeEntry(definition: StoreDefinition, record: { key: Buffer | null; value: Buffer | null }, source?: KeyValueSerdes<unknown, unknown>): Promise<[Buffer, Buffer | null] | null> {
  if (!record.key) return null;
  if (!source) return [record.key, record.value];
  const key = definition.keySerde.serialize(await source.key.deserialize(record.key));
  if (record.value === null) return [key, null];
  return [key, definition.valueSerde.serialize(await source.value.deserialize(record.value))];
}

async function openDatabase(directory: string, logger: RuntimeLogger): Promise<LevelDatabase> {
  await mkdir(path.dirname(directory), { recursive: true });
  const open = async () => {
    // Small LevelDB caches: a service opens one database per task, and the stores keep their
    // own cache of what they read.
    const database = new Level<Uint8Array, Uint8Array>(directory, { keyEncoding: 'view', valueEncoding: 'view', cacheSize: 2 * 1024 * 1024, writeBufferSize: 1024 * 1024 } as never);
    await database.open();
    return database as unknown as LevelDatabase;
  };
  try {
    return await open();
  } catch (error) {
    logger.warn({ directory, error: String(error) }, 'local state cannot be opened; wiping it and restoring from the changelogs');
    await rm(directory, { recursive: true, force: true });
    return open();
  }
}

/**
 * The id of this instance of the application, kept in its state directory: the same after a
 * restart (so its transactional producer fences and aborts what the crashed process left
 * open), different for every instance (each has its own state directory).
 */
export async function processId(stateDirectory: string, applicationId: string): Promise<string> {
  const file = path.join(stateDirectory, applicationId, 'process-id');
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const id = randomUUID();
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${id}\n`);
  return id;
}
