import { MemoryLevel } from 'memory-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jsonSerde, stringSerde } from '../src/serde.ts';
import type { BytesStore, LevelDatabase } from '../src/stores/bytes-store.ts';
import { openStore } from '../src/stores/factory.ts';
import type { LevelJoinBuffer } from '../src/stores/join-buffer.ts';
import type { LevelKeyValueStore } from '../src/stores/key-value-store.ts';
import type { LevelSessionStore } from '../src/stores/session-store.ts';
import type { LevelWindowStore } from '../src/stores/window-store.ts';
import type { StoreKind } from '../src/topology.ts';
import { collect } from './support/driver.ts';

let database: LevelDatabase;

beforeEach(async () => {
  database = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as unknown as LevelDatabase;
  await database.open();
});

afterEach(async () => {
  await database.close();
});

function open<S>(name: string, kind: StoreKind): { store: S; bytes: BytesStore } {
  const opened = openStore(database, { name, kind, keySerde: stringSerde, valueSerde: jsonSerde(), changelog: { kind: 'internal' } });
  return { store: opened.store as S, bytes: opened.bytes };
}

/** What the driver and the engine do at commit: write the buffer to LevelDB in one batch. */
async function flush(bytes: BytesStore): Promise<void> {
  await bytes.sublevel.db.batch(bytes.flushOperations());
  bytes.committed();
}

describe('the record cache under a store', () => {
  it('serves committed values, drops uncommitted ones, and follows entries written around the buffer', async () => {
    const { store, bytes } = open<LevelKeyValueStore<string, number>>('cached', 'key-value');
    store.put('a', 1);
    await flush(bytes);
    // LevelDB changed behind the store's back: a cached value is what the store believes committed.
    await bytes.sublevel.put(Buffer.from('a'), Buffer.from('99'));
    expect(await store.get('a')).toBe(1);
    store.put('a', 2);
    bytes.clearBuffer();
    expect(await store.get('a')).toBe(1);
    expect(await store.get('missing')).toBeUndefined();
    await bytes.sublevel.put(Buffer.from('missing'), Buffer.from('5'));
    bytes.written([[Buffer.from('missing'), Buffer.from('5')], [Buffer.from('a'), null]]);
    expect(await store.get('missing')).toBe(5);
    expect(await store.get('a')).toBeUndefined();
  });
});

describe('the range cache under a store', () => {
  it('keeps a range read once equal to what is committed: puts, deletes and entries written around the buffer', async () => {
    const { store, bytes } = open<LevelKeyValueStore<string, number>>('ranges', 'key-value');
    for (const [key, value] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) store.put(key, value);
    await flush(bytes);
    const range = async () => collect(bytes.range(Buffer.from('b'), Buffer.from('d')));
    const read = async () => (await range()).map(([key, value]) => [key.toString(), JSON.parse(value.toString()) as number]);
    expect(await read()).toEqual([['b', 2], ['c', 3]]);
    // Committed changes reach the cached range; LevelDB changed behind its back does not.
    await bytes.sublevel.put(Buffer.from('bb'), Buffer.from('99'));
    store.put('b', 20);
    store.delete('c');
    store.put('ca', 30);
    store.put('z', 26);
    expect(await read()).toEqual([['b', 20], ['ca', 30]]);
    await flush(bytes);
    expect(await read()).toEqual([['b', 20], ['ca', 30]]);
    // Restored or global records go to LevelDB directly, and the store is told.
    await bytes.sublevel.batch([{ type: 'put', key: Buffer.from('bc'), value: Buffer.from('7') }, { type: 'del', key: Buffer.from('b') }]);
    bytes.written([[Buffer.from('bc'), Buffer.from('7')], [Buffer.from('b'), null]]);
    expect(await read()).toEqual([['bc', 7], ['ca', 30]]);
    bytes.forgetCached();
    expect(await read()).toEqual([['bb', 99], ['bc', 7], ['ca', 30]]);
  });
});

describe('the range cache of a windowed store', () => {
  it('keeps each key\'s cached sessions right when other keys change, by group', async () => {
    const { store, bytes } = open<LevelSessionStore<string, number>>('session-groups', 'session');
    store.put('a', { start: 1, end: 5, value: 1 });
    store.put('b', { start: 2, end: 6, value: 2 });
    await flush(bytes);
    expect(await store.findSessions('a', 0, 100)).toEqual([{ start: 1, end: 5, value: 1 }]);
    expect(await store.findSessions('b', 0, 100)).toEqual([{ start: 2, end: 6, value: 2 }]);
    store.put('b', { start: 10, end: 12, value: 3 });
    store.remove('a', { start: 1, end: 5 });
    store.put('a', { start: 1, end: 8, value: 4 });
    // Buffered changes show through before the commit, and stay after it.
    expect(await store.findSessions('a', 0, 100)).toEqual([{ start: 1, end: 8, value: 4 }]);
    await flush(bytes);
    expect(await store.findSessions('a', 0, 100)).toEqual([{ start: 1, end: 8, value: 4 }]);
    expect(await store.findSessions('b', 0, 100)).toEqual([
      { start: 2, end: 6, value: 2 },
      { start: 10, end: 12, value: 3 },
    ]);
    expect(await store.findSessions('b', 7, 100)).toEqual([{ start: 10, end: 12, value: 3 }]);
  });
});

describe('key-value store', () => {
  const openKeyValue = () => open<LevelKeyValueStore<string, number>>('kv', 'key-value');

  it('all() merges buffered and flushed entries in key order, buffered values winning', async () => {
    const { store, bytes } = openKeyValue();
    for (const [key, value] of [['b', 1], ['d', 2], ['f', 3], ['h', 4]] as const) store.put(key, value);
    await flush(bytes);
    expect(bytes.hasChanges).toBe(false);
    store.put('a', 10); // before every flushed key
    store.put('d', 20); // overrides a flushed key
    store.put('e', 30); // between flushed keys
    store.delete('f'); // deletes a flushed key
    store.put('i', 40); // after every flushed key
    const merged = [
      ['a', 10],
      ['b', 1],
      ['d', 20],
      ['e', 30],
      ['h', 4],
      ['i', 40],
    ];
    expect(await collect(store.all())).toEqual(merged);
    expect(await store.get('f')).toBeUndefined();
    expect(await store.get('d')).toBe(20);
    // The same after committing.
    await flush(bytes);
    expect(await collect(store.all())).toEqual(merged);
  });

  it('delete of a buffered key hides it before and after the flush', async () => {
    const { store, bytes } = openKeyValue();
    store.put('x', 1);
    store.put('y', 2);
    store.delete('x');
    expect(await store.get('x')).toBeUndefined();
    expect(await collect(store.all())).toEqual([['y', 2]]);
    // The changelog gets a tombstone for x (harmless if it was never committed).
    expect(bytes.changes().map(([key, value]) => [key.toString(), value?.toString() ?? null])).toEqual([
      ['x', null],
      ['y', '2'],
    ]);
    await flush(bytes);
    expect(await store.get('x')).toBeUndefined();
    expect(await collect(store.all())).toEqual([['y', 2]]);
  });

  it('all() is a snapshot: changes made while iterating neither drop nor add entries', async () => {
    const { store, bytes } = openKeyValue();
    for (const [key, value] of [['a', 1], ['b', 2], ['c', 3]] as const) store.put(key, value);
    await flush(bytes);
    const seen: Array<[string, number]> = [];
    for await (const [key, value] of store.all()) {
      seen.push([key, value]);
      if (key === 'a') {
        store.put('c', 30); // a later flushed key, changed during the iteration
        store.put('bb', 22); // a new key
        store.delete('b');
      }
    }
    expect(seen).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(await collect(store.all())).toEqual([
      ['a', 1],
      ['bb', 22],
      ['c', 30],
    ]);
  });

  it('rolls back exactly the changes of the current record, keeping earlier uncommitted ones', async () => {
    const { store, bytes } = openKeyValue();
    store.put('committed', 1);
    await flush(bytes);
    bytes.beginRecord();
    store.put('first-record', 1);
    store.delete('committed');
    bytes.endRecord();
    bytes.beginRecord();
    store.put('first-record', 2);
    store.put('committed', 5);
    store.put('second-record', 2);
    store.delete('second-record');
    bytes.rollbackRecord();
    expect(await collect(store.all())).toEqual([['first-record', 1]]);
    expect(bytes.changes().map(([key, value]) => [key.toString(), value?.toString() ?? null])).toEqual([
      ['first-record', '1'],
      ['committed', null],
    ]);
  });
});

describe('window store', () => {
  async function filled() {
    const { store, bytes } = open<LevelWindowStore<string, string>>('windows', 'window');
    store.put('a', 0, 'a0');
    store.put('a', 10, 'a10');
    store.put('ab', 10, 'ab10'); // a longer key starting with "a": never part of a's range
    await flush(bytes);
    store.put('a', 20, 'a20');
    store.put('a', 30, 'a30');
    store.put('b', 10, 'b10');
    store.put('a', 10, 'a10-updated');
    return { store, bytes };
  }

  it('fetches the windows of one key starting within [from, to], both inclusive', async () => {
    const { store } = await filled();
    expect(await collect(store.fetch('a', 10, 20))).toEqual([
      { start: 10, value: 'a10-updated' },
      { start: 20, value: 'a20' },
    ]);
    expect(await collect(store.fetch('a', 11, 19))).toEqual([]);
    expect(await collect(store.fetch('a', 0, Number.MAX_SAFE_INTEGER))).toEqual([
      { start: 0, value: 'a0' },
      { start: 10, value: 'a10-updated' },
      { start: 20, value: 'a20' },
      { start: 30, value: 'a30' },
    ]);
    expect(await collect(store.fetch('ab', 0, 100))).toEqual([{ start: 10, value: 'ab10' }]);
    expect(await store.get('a', 30)).toBe('a30');
    expect(await store.get('a', 31)).toBeUndefined();
  });

  it('fetchAll returns every key within the range; purgeBefore deletes older windows', async () => {
    const { store, bytes } = await filled();
    const all = async (from: number, to: number) => (await collect(store.fetchAll(from, to))).map(({ key, start, value }) => `${key}@${start}=${value}`);
    // Keys are length-prefixed, so shorter keys come first.
    expect(await all(10, 20)).toEqual(['a@10=a10-updated', 'a@20=a20', 'b@10=b10', 'ab@10=ab10']);
    expect(await store.purgeBefore(20)).toBe(4);
    await flush(bytes);
    expect(await all(0, 100)).toEqual(['a@20=a20', 'a@30=a30']);
    store.delete('a', 30);
    expect(await all(0, 100)).toEqual(['a@20=a20']);
  });
});

describe('session store', () => {
  async function filled() {
    const { store, bytes } = open<LevelSessionStore<string, string>>('sessions', 'session');
    store.put('u', { start: 0, end: 5, value: 's1' });
    store.put('u', { start: 10, end: 15, value: 's2' });
    await flush(bytes);
    store.put('u', { start: 30, end: 40, value: 's3' });
    store.put('v', { start: 12, end: 12, value: 'v1' });
    return { store, bytes };
  }

  const spans = (sessions: Array<{ start: number; end: number; value: string }>) => sessions.map(({ start, end, value }) => `[${start},${end}]=${value}`);

  it('findSessions returns sessions ending at or after earliestEnd and starting at or before latestStart', async () => {
    const { store } = await filled();
    expect(spans(await store.findSessions('u', 5, 30))).toEqual(['[0,5]=s1', '[10,15]=s2', '[30,40]=s3']);
    expect(spans(await store.findSessions('u', 6, 29))).toEqual(['[10,15]=s2']);
    expect(spans(await store.findSessions('u', 16, 29))).toEqual([]);
    expect(spans(await store.findSessions('u', 0, 0))).toEqual(['[0,5]=s1']);
    expect(spans(await store.findSessions('u', 40, 100))).toEqual(['[30,40]=s3']);
    expect(spans(await store.findSessions('v', 0, 100))).toEqual(['[12,12]=v1']);
    expect(spans(await store.findSessions('w', 0, 100))).toEqual([]);
  });

  it('fetchAll lists every key’s sessions ending at or after earliestEnd, uncommitted ones too', async () => {
    const { store } = await filled();
    const keyed = (sessions: Array<{ key: string; start: number; end: number; value: string }>) => sessions.map(({ key, ...session }) => `${key}${spans([session])[0]!}`);
    expect(keyed(await collect(store.fetchAll(0)))).toEqual(['u[0,5]=s1', 'u[10,15]=s2', 'u[30,40]=s3', 'v[12,12]=v1']);
    expect(keyed(await collect(store.fetchAll(13)))).toEqual(['u[10,15]=s2', 'u[30,40]=s3']);
  });

  it('fetch lists a key’s sessions by end; remove and purgeEndedBefore delete them', async () => {
    const { store } = await filled();
    expect(spans(await collect(store.fetch('u')))).toEqual(['[0,5]=s1', '[10,15]=s2', '[30,40]=s3']);
    store.remove('u', { start: 10, end: 15 });
    expect(spans(await collect(store.fetch('u')))).toEqual(['[0,5]=s1', '[30,40]=s3']);
    expect(await store.purgeEndedBefore(13)).toBe(2); // u [0,5] and v [12,12]
    expect(spans(await collect(store.fetch('u')))).toEqual(['[30,40]=s3']);
    expect(spans(await collect(store.fetch('v')))).toEqual([]);
  });
});

describe('join buffer', () => {
  it('keeps records with the same key and timestamp apart by sequence and fetches an inclusive time range', async () => {
    const { store, bytes } = open<LevelJoinBuffer<string, string>>('buffer', 'join-buffer');
    store.put('k', 100, 7, 'first');
    store.put('k', 100, 8, 'duplicate');
    await flush(bytes);
    store.put('k', 90, 9, 'earlier');
    store.put('k', 110, 10, 'later');
    store.put('other', 100, 11, 'other key');
    expect(await collect(store.fetch('k', 90, 100))).toEqual([
      { timestamp: 90, value: 'earlier' },
      { timestamp: 100, value: 'first' },
      { timestamp: 100, value: 'duplicate' },
    ]);
    expect(await collect(store.fetch('k', 101, 110))).toEqual([{ timestamp: 110, value: 'later' }]);
    expect(await store.purgeBefore(100)).toBe(1);
    expect((await collect(store.fetch('k', 0, 1000))).map(({ value }) => value)).toEqual(['first', 'duplicate', 'later']);
  });
});
