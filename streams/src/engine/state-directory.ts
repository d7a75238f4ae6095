import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Level } from 'level';
import type { BytesSublevel, LevelDatabase } from '../stores/bytes-store.ts';
import type { RuntimeLogger } from './logger.ts';

/**
 * One LevelDB database per task under `<state dir>/<application id>/<task id>`, holding a
 * sublevel per store and a `meta` sublevel with each store's changelog position. A database
 * that cannot be opened (corrupt, or left by an incompatible version) is wiped and rebuilt
 * from the changelogs.
 */
export async function openTaskDatabase(directory: string, logger: RuntimeLogger): Promise<LevelDatabase> {
  await mkdir(path.dirname(directory), { recursive: true });
  const open = async () => {
    const database = new Level<Uint8Array, Uint8Array>(directory, { keyEncoding: 'view', valueEncoding: 'view' });
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

export type MetaSublevel = ReturnType<typeof metaSublevel>;

export function metaSublevel(database: LevelDatabase) {
  return database.sublevel<string, string>('meta', { keyEncoding: 'utf8', valueEncoding: 'utf8' });
}

/** The next changelog (or source topic) offset a store has not yet applied. */
export async function readNextOffset(meta: MetaSublevel, store: string): Promise<number> {
  const value = await meta.get(`next:${store}`);
  return value === undefined ? 0 : Number(value);
}

export function nextOffsetOperation(meta: MetaSublevel, store: string, offset: number) {
  return { type: 'put' as const, key: `next:${store}`, value: String(offset), sublevel: meta };
}

/** Deletes every entry of a store (its changelog no longer matches it) and its position. */
export async function wipeStore(sublevel: BytesSublevel, meta: MetaSublevel, store: string): Promise<void> {
  await sublevel.clear();
  await meta.del(`next:${store}`);
}
