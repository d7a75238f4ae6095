import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import { isTransient } from '../kafka/errors.ts';
import type { FetchedRecord } from '../kafka/fetcher.ts';
import { describeError, retry } from '../kafka/retry.ts';
import type { KeyValueSerdes } from '../serde.ts';
import type { BytesSublevel, LevelDatabase } from '../stores/bytes-store.ts';
import { openStore, type OpenStore } from '../stores/factory.ts';
import { stampValue } from '../stores/key-value-store.ts';
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
   * bytes already; records of a source topic go through its serdes (`source`): one that fails
   * for a passing reason (the schema registry is down) is retried until it reads (or the task
   * closes: nothing is applied then, and the restore starts again from the same checkpoint);
   * one that can never be read is skipped and counted (it was dead-lettered when processed).
   */
  async applyRestored(
    storeName: string,
    records: readonly FetchedRecord[],
    nextOffset: number,
    source: KeyValueSerdes<unknown, unknown> | undefined,
    options: { logger: RuntimeLogger; where: Record<string, unknown>; signal: AbortSignal },
  ): Promise<{ applied: number; skipped: number }> {
    const definition = this.stores.get(storeName)!.definition;
    const entries: Array<[Buffer, Buffer | null]> = [];
    let skipped = 0;
    for (const record of records) {
      const entry = await readEntry(definition, record, source, { ...options, where: { ...options.where, offset: record.offset } });
      if (entry === 'stopped') throw new Error(`restoring ${storeName} stopped while a record could not be read yet`);
      if (entry === 'unreadable') skipped += 1;
      else if (entry) entries.push(entry);
    }
    await this.applyEntries(storeName, entries, nextOffset);
    return { applied: entries.length, skipped };
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
export async function storeEntry(definition: StoreDefinition, record: { key: Buffer | null; value: Buffer | null; timestamp: number }, source?: KeyValueSerdes<unknown, unknown>): Promise<[Buffer, Buffer | null] | null> {
  if (!record.key) return null;
  if (!source) return [record.key, record.value];
  const key = definition.keySerde.serialize(await source.key.deserialize(record.key));
  if (record.value === null) return [key, null];
  const value = definition.valueSerde.serialize(await source.value.deserialize(record.value));
  // A table with a retention keeps each value behind its record's timestamp (see LevelKeyValueStore).
  return [key, definition.kind === 'key-value' && definition.retentionMs !== undefined ? stampValue(record.timestamp, value) : value];
}

/**
 * The store entry of a record of a table's topic (see storeEntry), waiting out failures that
 * pass (the schema registry down: retried with backoff, logged) instead of losing the row.
 * 'unreadable': the record can never be read (logged); 'stopped': `signal` ended the wait.
 */
export async function readEntry(
  definition: StoreDefinition,
  record: { key: Buffer | null; value: Buffer | null; timestamp: number },
  source: KeyValueSerdes<unknown, unknown> | undefined,
  { logger, where, signal }: { logger: RuntimeLogger; where: Record<string, unknown>; signal: AbortSignal },
): Promise<[Buffer, Buffer | null] | null | 'unreadable' | 'stopped'> {
  try {
    return await retry(() => storeEntry(definition, record, source), {
      retriable: (error) => isTransient(error) && !signal.aborted,
      initialDelayMs: 100,
      maxDelayMs: 5_000,
      signal,
      onRetry: (error) => logger.warn({ ...where, store: definition.name, error: describeError(error) }, 'a table record cannot be read yet; retrying'),
    });
  } catch (error) {
    if (isTransient(error)) return 'stopped';
    logger.warn({ ...where, store: definition.name, error: describeError(error) }, 'a table record that can never be read is skipped');
    return 'unreadable';
  }
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
  const describeCause = (error: unknown): string => `${String(error)} ${String((error as { cause?: unknown }).cause ?? '')}`;
  try {
    return await open();
  } catch (error) {
    // Held by another process: its live state must not be wiped (the instance lock should have said so).
    if (/\bLOCK\b|lock/.test(describeCause(error))) throw error;
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

/**
 * Takes the instance's state folder (`<state dir>/<application id>`) for this process: a
 * second process given the same folder would share the first one's transactional id (each
 * fencing the other) and its databases. A lock file names the holder; a holder that no longer
 * runs (a crash) leaves it stale, and the next process takes it over. Returns the release.
 */
const lockedHere = new Set<string>();

export async function lockStateDirectory(stateDirectory: string, applicationId: string): Promise<() => Promise<void>> {
  const directory = path.resolve(stateDirectory, applicationId);
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, '.lock');
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      lockedHere.add(directory);
      return async () => {
        lockedHere.delete(directory);
        await unlink(file).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      const held = holder === process.pid ? lockedHere.has(directory) : Number.isInteger(holder) && holder > 0 && isRunning(holder);
      if (held) {
        throw new Error(`the state folder ${directory} is in use by process ${holder}: every instance of ${applicationId} on a machine needs a state folder of its own (STATE_DIR)`);
      }
      // Left by a process that is gone: take it over.
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`could not take the lock of the state folder ${directory}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
