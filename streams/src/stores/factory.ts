import type { StoreDefinition } from '../topology.ts';
import { BytesStore, type BytesSublevel, type LevelDatabase } from './bytes-store.ts';
import { LevelJoinBuffer } from './join-buffer.ts';
import { LevelKeyValueStore } from './key-value-store.ts';
import { LevelSessionStore } from './session-store.ts';
import type { StateStore } from './state-store.ts';
import { LevelWindowStore } from './window-store.ts';
import { recordKeyGroup } from './windowed-keys.ts';

export interface OpenStore {
  definition: StoreDefinition;
  bytes: BytesStore;
  store: StateStore;
}

export function storeSublevel(database: LevelDatabase, name: string): BytesSublevel {
  return database.sublevel<Uint8Array, Uint8Array>(`store:${name}`, { keyEncoding: 'view', valueEncoding: 'view' });
}

/** The typed store of a definition over its bytes in the task's database. */
export function openStore(database: LevelDatabase, definition: StoreDefinition): OpenStore {
  const bytes = new BytesStore(definition.name, storeSublevel(database, definition.name), definition.kind === 'key-value' ? undefined : recordKeyGroup);
  const { keySerde, valueSerde } = definition;
  const store: StateStore = (() => {
    switch (definition.kind) {
      case 'key-value':
        return new LevelKeyValueStore(bytes, keySerde, valueSerde, definition.retentionMs);
      case 'window':
        return new LevelWindowStore(bytes, keySerde, valueSerde);
      case 'session':
        return new LevelSessionStore(bytes, keySerde, valueSerde);
      case 'join-buffer':
        return new LevelJoinBuffer(bytes, keySerde, valueSerde);
    }
  })();
  return { definition, bytes, store };
}
