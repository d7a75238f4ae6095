import path from 'node:path';
import type { Admin } from '@platformatic/kafka';
import { allPartitions, beginningOffsets, endOffsets } from '../kafka/admin.ts';
import type { FetchedRecord } from '../kafka/fetcher.ts';
import type { StateStore } from '../stores/state-store.ts';
import type { GlobalStoreDefinition } from '../topology.ts';
import type { ChangelogReader, ReadRange } from './changelog-reader.ts';
import type { RuntimeLogger } from './logger.ts';
import { readEntry, StateManager } from './state-manager.ts';

/**
 * Global tables (Kafka Streams' GlobalStateManager): every instance reads every partition of
 * their topics into local stores, bootstrapping to the end before processing starts and
 * following the topics afterwards. Positions are checkpointed per partition, so a restart
 * reads only what is new.
 */
export class GlobalStores {
  private stateManager: StateManager | undefined;
  /** Aborted by `close`: a record waiting for a server to come back stops waiting. */
  private readonly closing = new AbortController();

  constructor(
    private readonly definitions: readonly GlobalStoreDefinition[],
    private readonly options: { admin: Admin; reader: ChangelogReader; logger: RuntimeLogger; applicationDirectory: string },
  ) {}

  get stores(): ReadonlyMap<string, StateStore> {
    return new Map([...(this.stateManager?.stores ?? new Map())].map(([name, open]) => [name, open.store]));
  }

  store(name: string): StateStore | undefined {
    return this.stateManager?.stores.get(name)?.store;
  }

  async start(): Promise<void> {
    if (this.definitions.length === 0) return;
    const { admin, reader, logger, applicationDirectory } = this.options;
    const started = Date.now();
    this.stateManager = await StateManager.open(path.join(applicationDirectory, 'global'), this.definitions.map((definition) => definition.store), logger);
    const partitions = await allPartitions(admin, this.definitions.map((definition) => definition.topic));
    const [starts, ends] = await Promise.all([beginningOffsets(admin, partitions), endOffsets(admin, partitions, true)]);
    const bootstrap: ReadRange[] = [];
    for (const definition of this.definitions) {
      for (const partition of partitions.get(definition.topic) ?? []) {
        const start = starts.get(definition.topic)?.get(partition) ?? 0;
        const end = ends.get(definition.topic)?.get(partition) ?? 0;
        let from = await this.stateManager.checkpoint(`${definition.store.name}:${partition}`);
        if (from > end) from = 0; // the topic was recreated: its old positions mean nothing
        bootstrap.push({ topic: definition.topic, partition, from: Math.max(from, start), to: end });
      }
    }
    let applied = 0;
    const apply = async (range: ReadRange, records: FetchedRecord[], nextOffset: number) => {
      applied += await this.apply(range, records, nextOffset);
    };
    await reader.read(bootstrap, apply);
    logger.info({ stores: this.definitions.map((definition) => definition.store.name), records: applied, ms: Date.now() - started }, 'global stores bootstrapped');
    reader.follow(
      bootstrap.map((range) => ({ ...range, from: range.to! })),
      (range, records, nextOffset) => this.apply(range, records, nextOffset).then(() => undefined),
    );
  }

  private async apply(range: ReadRange, records: FetchedRecord[], nextOffset: number): Promise<number> {
    const definition = this.definitions.find((candidate) => candidate.topic === range.topic)!;
    const entries: Array<[Buffer, Buffer | null]> = [];
    for (const record of records) {
      const entry = await this.entry(definition, range, record);
      // Closing while a server is down: the position stays before this record, so it is read again.
      if (entry === 'closing') return 0;
      if (entry) entries.push(entry);
    }
    await this.stateManager!.applyEntries(definition.store.name, entries, nextOffset, `${definition.store.name}:${range.partition}`);
    return entries.length;
  }

  /**
   * A record that can never be read (garbage bytes, an unknown schema) is logged and skipped,
   * as Kafka Streams does for global tables; one that fails for a passing reason (the schema
   * registry is down) is retried, since skipping it would lose a row of the table for good.
   */
  private async entry(definition: GlobalStoreDefinition, range: ReadRange, record: FetchedRecord): Promise<[Buffer, Buffer | null] | null | 'closing'> {
    const entry = await readEntry(definition.store, record, definition.serdes, { logger: this.options.logger, where: { topic: range.topic, partition: range.partition, offset: record.offset }, signal: this.closing.signal });
    if (entry === 'stopped') return 'closing';
    return entry === 'unreadable' ? null : entry;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.stateManager?.close();
  }
}
