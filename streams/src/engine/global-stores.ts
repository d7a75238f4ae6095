import path from 'node:path';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { openStore, type OpenStore } from '../stores/factory.ts';
import type { LevelDatabase } from '../stores/bytes-store.ts';
import type { StateStore } from '../stores/state-store.ts';
import type { GlobalStoreDefinition } from '../topology.ts';
import { ChangelogReader, type ReadRange } from './changelog-reader.ts';
import type { RuntimeLogger } from './logger.ts';
import { isTransient } from './task-runner.ts';
import { metaSublevel, nextOffsetOperation, openTaskDatabase, readNextOffset, type MetaSublevel } from './state-directory.ts';

/**
 * Global tables: every instance reads every partition of their topics into local stores,
 * bootstrapping to the end before processing starts and following the topics afterwards.
 * Their positions are kept per partition in the local database, so a restart reads only
 * what is new.
 */
export class GlobalStores {
  private database: LevelDatabase | undefined;
  private meta!: MetaSublevel;
  private reader: ChangelogReader | undefined;
  private closing = false;
  private readonly open = new Map<string, { definition: GlobalStoreDefinition; store: OpenStore }>();

  constructor(
    private readonly definitions: readonly GlobalStoreDefinition[],
    private readonly options: { kafka: Kafka; admin: Admin; logger: RuntimeLogger; stateDirectory: string; applicationId: string; instanceId: string },
  ) {}

  get stores(): ReadonlyMap<string, StateStore> {
    return new Map([...this.open.values()].map(({ store }) => [store.definition.name, store.store]));
  }

  async start(): Promise<void> {
    if (this.definitions.length === 0) return;
    const { admin, kafka, logger, stateDirectory, applicationId, instanceId } = this.options;
    const started = Date.now();
    this.database = await openTaskDatabase(path.join(stateDirectory, applicationId, 'global'), logger);
    this.meta = metaSublevel(this.database);
    const ranges: ReadRange[] = [];
    for (const definition of this.definitions) {
      const store = openStore(this.database, definition.store);
      this.open.set(definition.topic, { definition, store });
      for (const { partition, high, low } of await admin.fetchTopicOffsets(definition.topic)) {
        let from = await readNextOffset(this.meta, `${definition.store.name}:${partition}`);
        if (from > Number(high)) from = 0; // the topic was recreated: its old positions mean nothing
        ranges.push({ topic: definition.topic, partition, from: Math.max(from, Number(low)), to: Number(high) });
      }
    }
    let applied = 0;
    this.reader = new ChangelogReader({
      kafka,
      logger,
      groupId: `${applicationId}-global-${instanceId}`,
      ranges,
      follow: true,
      apply: async (topic, partition, messages) => {
        applied += await this.apply(topic, partition, messages);
      },
    });
    await this.reader.start();
    await this.reader.caughtUp;
    logger.info({ stores: this.definitions.map((definition) => definition.store.name), records: applied, ms: Date.now() - started }, 'global stores bootstrapped');
  }

  private async apply(topic: string, partition: number, messages: KafkaMessage[]): Promise<number> {
    const entry = this.open.get(topic)!;
    const { definition, store } = entry;
    let applied = 0;
    let next: number | undefined;
    for (const message of messages) {
      const outcome = message.key ? await this.applyRecord(definition, store, topic, partition, message) : 'skipped';
      // Closing while a server is down: keep the position before this record, so it is read again.
      if (outcome === 'closing') break;
      if (outcome === 'applied') applied += 1;
      next = Number(message.offset) + 1;
    }
    if (next === undefined) return applied;
    await this.database!.batch([...store.bytes.flushOperations(), nextOffsetOperation(this.meta, `${definition.store.name}:${partition}`, next)] as never);
    store.bytes.clearBuffer();
    return applied;
  }

  /**
   * A record that can never be read (garbage bytes, an unknown schema) is logged and skipped,
   * as Kafka Streams does for global tables; one that fails for a passing reason (the schema
   * registry is down) is retried, since skipping it would lose a row of the table for good.
   */
  private async applyRecord(definition: GlobalStoreDefinition, store: OpenStore, topic: string, partition: number, message: KafkaMessage): Promise<'applied' | 'skipped' | 'closing'> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        const key = await definition.serdes.key.deserialize(message.key!);
        const value = message.value === null ? null : await definition.serdes.value.deserialize(message.value);
        store.bytes.put(definition.store.keySerde.serialize(key), value === null ? null : definition.store.valueSerde.serialize(value));
        return 'applied';
      } catch (error) {
        if (!isTransient(error)) {
          this.options.logger.warn({ topic, partition, offset: message.offset, error: String(error) }, 'global table skipped a record it cannot read');
          return 'skipped';
        }
        if (this.closing) return 'closing';
        this.options.logger.warn({ topic, partition, offset: message.offset, error: String(error) }, 'global table cannot read a record yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.reader?.stop().catch(() => undefined);
    await this.database?.close().catch(() => undefined);
  }
}
