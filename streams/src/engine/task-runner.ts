import path from 'node:path';
import { type Admin, type Kafka, type KafkaMessage, type Producer, type RecordMetadata, type TopicMessages } from 'kafkajs';
import type { OutgoingRecord, RawRecord, RecordHeaders } from '../record.ts';
import { openStore, type OpenStore } from '../stores/factory.ts';
import type { LevelDatabase } from '../stores/bytes-store.ts';
import type { StateStore } from '../stores/state-store.ts';
import { RecordFailure, StreamTask } from '../task.ts';
import { changelogTopic, type Subtopology, type Topology } from '../topology.ts';
import { ChangelogReader, type ReadRange } from './changelog-reader.ts';
import type { RuntimeLogger } from './logger.ts';
import { RecordingPartitioner, sendBatchAcknowledged } from './acknowledged-send.ts';
import { Mutex } from './mutex.ts';
import { metaSublevel, nextOffsetOperation, openTaskDatabase, readNextOffset, wipeStore, type MetaSublevel } from './state-directory.ts';

export type ProcessingGuarantee = 'exactly-once' | 'at-least-once';

export interface TaskRunnerContext {
  applicationId: string;
  topology: Topology;
  kafka: Kafka;
  admin: Admin;
  logger: RuntimeLogger;
  stateDirectory: string;
  guarantee: ProcessingGuarantee;
  globalStores: ReadonlyMap<string, StateStore>;
  /** The shared producer of at-least-once mode. */
  sharedProducer: () => Producer;
  /** Commits consumer offsets in at-least-once mode. */
  commitConsumerOffsets: (offsets: Array<{ topic: string; partition: number; offset: string }>) => Promise<void>;
  deadLetterTopic: string;
  instanceId: string;
  rejectNullKeys: boolean;
}

export type TaskState = 'initializing' | 'running' | 'closed';

/** A failure of the task as a whole (not of one record): the task must be rebuilt or given up. */
export class TaskFailure extends Error {
  constructor(
    message: string,
    readonly fenced: boolean,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'TaskFailure';
  }
}

const fencingErrors = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'INVALID_PRODUCER_ID_MAPPING']);

function isFencing(error: unknown): boolean {
  let current: unknown = error;
  while (current && typeof current === 'object') {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string' && fencingErrors.has(type)) return true;
    current = (current as { originalError?: unknown; cause?: unknown }).originalError ?? (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Whether a failure passes by itself (a server that is down), as serdes mark theirs. */
export function isTransient(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { transient?: unknown }).transient === true;
}

/**
 * Runs one task on the cluster: opens its local state, fences earlier owners of the task,
 * restores the stores, then processes records and commits.
 *
 * Exactly-once: the task has its own transactional producer (`<app>-<task>`), so whoever
 * owned the task before is fenced the moment this one initializes, before the committed
 * offsets are read and before the stores are restored. A commit is one transaction holding
 * the outputs, the changelog records of the stores and the input offsets; only after it
 * succeeds do the stores' buffered changes go to LevelDB, together with their changelog
 * positions, in one atomic batch.
 */
export class TaskRunner {
  state: TaskState = 'initializing';
  /** Set as close() begins, before it waits for the lock held by a batch in progress. */
  private closing = false;
  private task!: StreamTask;
  private database!: LevelDatabase;
  private meta!: MetaSublevel;
  private producer: Producer | undefined;
  private readonly lock = new Mutex();
  /** Next offset to process per source topic (resolved name). */
  private readonly positions = new Map<string, number>();
  private readonly committedPositions = new Map<string, number>();
  private lastCommit = Date.now();
  readonly stores = new Map<string, OpenStore>();

  constructor(
    private readonly context: TaskRunnerContext,
    readonly subtopology: Subtopology,
    readonly partition: number,
  ) {}

  get id(): string {
    return `${this.subtopology.id}_${this.partition}`;
  }

  get sourceTopics(): string[] {
    return this.task.sourceTopics;
  }

  private get transactionalId(): string {
    return `${this.context.applicationId}-${this.id}`;
  }

  /** Opens, fences, restores. Returns the offsets the consumer must seek to. */
  async initialize(): Promise<Array<{ topic: string; partition: number; offset: string }>> {
    const { context } = this;
    const started = Date.now();
    this.database = await openTaskDatabase(path.join(context.stateDirectory, context.applicationId, this.id), context.logger);
    this.meta = metaSublevel(this.database);
    for (const name of this.subtopology.stores) this.stores.set(name, openStore(this.database, context.topology.stores.get(name)!));
    this.task = new StreamTask(context.topology, this.subtopology, this.partition, context.applicationId, this.stores, context.globalStores, context.rejectNullKeys);

    if (context.guarantee === 'exactly-once') {
      this.producer = context.kafka.producer({
        // Java's murmur2 partitioner (kafkajs' default since 2.0), remembering its choices for sendBatchAcknowledged.
        createPartitioner: RecordingPartitioner,
        transactionalId: this.transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: 60_000,
        allowAutoTopicCreation: false,
      });
      await this.producer.connect();
      // Initializing the transactional id fences any earlier owner and aborts its open transaction.
      const fence = await this.producer.transaction();
      await fence.abort();
    }

    const committed = await this.committedOffsets();
    const restoredRecords = await this.restore(committed);
    await this.task.init();
    const seeks = this.task.sourceTopics.map((topic) => {
      const offset = committed.get(topic) ?? 0;
      this.positions.set(topic, offset);
      this.committedPositions.set(topic, offset);
      return { topic, partition: this.partition, offset: String(offset) };
    });
    this.state = 'running';
    context.logger.info({ task: this.id, restoredRecords, ms: Date.now() - started, positions: Object.fromEntries(this.positions) }, 'task running');
    return seeks;
  }

  /** The group's committed offsets of this task's partitions; the earliest offset where none is committed. */
  private async committedOffsets(): Promise<Map<string, number>> {
    const { admin, applicationId } = this.context;
    const offsets = new Map<string, number>();
    const topics = this.task.sourceTopics;
    const fetched = await admin.fetchOffsets({ groupId: applicationId, topics });
    for (const { topic, partitions } of fetched) {
      const committed = Number(partitions.find((entry) => entry.partition === this.partition)?.offset ?? -1);
      if (committed >= 0) offsets.set(topic, committed);
      else {
        const watermarks = await admin.fetchTopicOffsets(topic);
        offsets.set(topic, Number(watermarks.find((entry) => entry.partition === this.partition)?.low ?? 0));
      }
    }
    return offsets;
  }

  /** Brings every store up to its changelog: from its local position to the end. */
  private async restore(committed: Map<string, number>): Promise<number> {
    const { admin, applicationId, kafka, logger, instanceId } = this.context;
    const ranges: ReadRange[] = [];
    const storesByTopic = new Map<string, OpenStore>();
    for (const open of this.stores.values()) {
      const topic = changelogTopic(applicationId, open.definition);
      let from = await readNextOffset(this.meta, open.definition.name);
      let to: number;
      if (open.definition.changelog.kind === 'source-topic') {
        to = committed.get(topic) ?? 0;
      } else {
        const watermarks = await admin.fetchTopicOffsets(topic);
        const partition = watermarks.find((entry) => entry.partition === this.partition);
        to = Number(partition?.high ?? 0);
        const low = Number(partition?.low ?? 0);
        if (from < low) from = low === 0 ? from : -1;
      }
      if (from > to && open.definition.changelog.kind === 'source-topic' && this.context.guarantee === 'at-least-once') {
        // At-least-once commits offsets after the table took the records: replaying them is harmless.
        from = to;
      }
      if (from > to || from < 0) {
        // The local state is ahead of its changelog, or the changelog lost records it needs:
        // it belongs to another incarnation of the topic. Start over from the changelog.
        logger.warn({ task: this.id, store: open.definition.name, local: from, changelogEnd: to }, 'local store does not match its changelog; rebuilding it');
        await wipeStore(open.bytes.sublevel, this.meta, open.definition.name);
        from = 0;
      }
      ranges.push({ topic, partition: this.partition, from, to });
      storesByTopic.set(topic, open);
    }
    let restored = 0;
    if (ranges.every((range) => range.from >= range.to)) return 0;
    const reader = new ChangelogReader({
      kafka,
      logger,
      groupId: `${applicationId}-restore-${instanceId}-${this.id}`,
      ranges,
      follow: false,
      apply: async (topic, _partition, messages) => {
        const open = storesByTopic.get(topic)!;
        const range = ranges.find((candidate) => candidate.topic === topic)!;
        const wanted = messages.filter((message) => Number(message.offset) < range.to);
        if (wanted.length === 0) return;
        const operations = await this.restoreOperations(open, wanted);
        const next = Number(wanted[wanted.length - 1]!.offset) + 1;
        await this.database.batch([...operations, nextOffsetOperation(this.meta, open.definition.name, next)] as never);
        restored += wanted.length;
      },
    });
    try {
      await reader.start();
      await reader.caughtUp;
    } finally {
      await reader.stop();
    }
    return restored;
  }

  /** Changelog records are store bytes already; a source topic's records go through its serdes. */
  private async restoreOperations(open: OpenStore, messages: KafkaMessage[]) {
    const { definition, bytes } = open;
    const operations: Array<{ type: 'put'; key: Buffer; value: Buffer; sublevel: typeof bytes.sublevel } | { type: 'del'; key: Buffer; sublevel: typeof bytes.sublevel }> = [];
    const source = definition.changelog.kind === 'source-topic' ? this.sourceSerdes(definition.changelog.topic) : undefined;
    for (const message of messages) {
      if (!message.key) continue;
      if (!source) {
        operations.push(message.value === null ? { type: 'del', key: message.key, sublevel: bytes.sublevel } : { type: 'put', key: message.key, value: message.value, sublevel: bytes.sublevel });
        continue;
      }
      try {
        const key = definition.keySerde.serialize(await source.key.deserialize(message.key));
        if (message.value === null) operations.push({ type: 'del', key, sublevel: bytes.sublevel });
        else operations.push({ type: 'put', key, value: definition.valueSerde.serialize(await source.value.deserialize(message.value)), sublevel: bytes.sublevel });
      } catch {
        // A record that cannot be read was dead-lettered when it was processed; the table skipped it then too.
      }
    }
    return operations;
  }

  private sourceSerdes(topic: string) {
    for (const name of this.subtopology.nodes) {
      const node = this.context.topology.node(name);
      if (node.kind === 'source' && node.topics.includes(topic)) return node.serdes;
    }
    throw new Error(`no source node reads ${topic}`);
  }

  /**
   * Processes a batch of one partition, in offset order. Records below the task's position
   * (already processed, fetched again after a seek) are skipped. A record that fails for
   * good goes to the dead-letter topic in the same transaction as everything else; a
   * transient failure (the registry is down) is retried until it passes.
   */
  async processBatch(
    topic: string,
    messages: KafkaMessage[],
    control: { resolveOffset: (offset: string) => void; heartbeat: () => Promise<void>; isRunning: () => boolean; isStale: () => boolean },
  ): Promise<void> {
    await this.lock.run(async () => {
      if (this.state !== 'running') return;
      let lastHeartbeat = Date.now();
      for (const message of messages) {
        if (!control.isRunning() || control.isStale() || this.state !== 'running') return;
        // A big batch must not let the group think this member died.
        if (Date.now() - lastHeartbeat > 1_000) {
          await control.heartbeat();
          lastHeartbeat = Date.now();
        }
        const offset = Number(message.offset);
        const position = this.positions.get(topic) ?? 0;
        if (offset >= position) {
          if (!(await this.processRecord(topic, message, control.heartbeat, control.isRunning))) return;
          this.positions.set(topic, offset + 1);
        }
        control.resolveOffset(message.offset);
      }
    });
  }

  /** Returns false when the record was given up (the task is closing during a transient failure): it stays unprocessed. */
  private async processRecord(topic: string, message: KafkaMessage, heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<boolean> {
    const raw: RawRecord = {
      key: message.key,
      value: message.value,
      timestamp: Number(message.timestamp),
      headers: normalizeHeaders(message.headers),
      offset: message.offset,
    };
    let delay = 100;
    for (;;) {
      try {
        await this.task.process(topic, raw);
        return true;
      } catch (error) {
        if (!(error instanceof RecordFailure)) throw error;
        if (isTransient(error.cause)) {
          // Shutting down must not wait for a server that is down: the record is retried after the restart.
          if (this.closing || !isRunning()) return false;
          this.context.logger.warn({ task: this.id, topic, offset: message.offset, error: error.message }, 'transient failure; retrying the record');
          await heartbeat();
          await new Promise((resolve) => setTimeout(resolve, delay));
          delay = Math.min(delay * 2, 5_000);
          continue;
        }
        this.context.logger.warn({ task: this.id, topic, partition: this.partition, offset: message.offset, stage: error.stage, error: error.message }, 'record sent to the dead-letter topic');
        this.task.emit(deadLetter(this.context, topic, this.partition, raw, error));
        return true;
      }
    }
  }

  /** Whether anything (outputs, store changes, consumed offsets) waits for a commit. */
  get hasUncommittedWork(): boolean {
    if (this.state !== 'running') return false;
    return this.task.hasPendingWork || [...this.positions].some(([topic, offset]) => this.committedPositions.get(topic) !== offset);
  }

  get millisecondsSinceCommit(): number {
    return Date.now() - this.lastCommit;
  }

  /**
   * When the next commit is due. Downstream consumers (read-committed) see a task's outputs
   * only once they are committed, so pending outputs are committed every interval. Work
   * nobody waits for (consumed offsets, store changes without outputs) is committed ten
   * times less often: that saves most transactions of filtering and table tasks.
   */
  commitDue(intervalMs: number, caughtUp = false): boolean {
    if (!this.hasUncommittedWork) return false;
    const waited = this.millisecondsSinceCommit;
    if (!this.task.hasPendingOutputs) return waited >= intervalMs * 10;
    // Nothing more to read right now: waiting out the interval would only add latency.
    return waited >= (caughtUp ? intervalMs / 5 : intervalMs);
  }

  /** Commits what was processed since the last commit; a failure leaves the task to be rebuilt. */
  commit(): Promise<void> {
    return this.lock.run(() => this.commitLocked(true));
  }

  /**
   * At-least-once only: sends outputs and changelog records now and keeps the input offsets
   * for the next commit, as Kafka Streams does. A crash between the two replays records whose
   * results are already out: the duplicates at-least-once allows.
   */
  flush(): Promise<void> {
    return this.lock.run(() => this.commitLocked(false));
  }

  private async commitLocked(includeOffsets: boolean): Promise<void> {
    if (this.state !== 'running') return;
    const advanced = includeOffsets ? [...this.positions].filter(([topic, offset]) => this.committedPositions.get(topic) !== offset) : [];
    if (!this.task.hasPendingWork && advanced.length === 0) {
      if (includeOffsets) this.lastCommit = Date.now();
      return;
    }
    const outputs = this.task.drainOutputs();
    const changelogRecords: OutgoingRecord[] = [];
    for (const open of this.stores.values()) {
      if (open.definition.changelog.kind !== 'internal' || !open.bytes.hasChanges) continue;
      const topic = changelogTopic(this.context.applicationId, open.definition);
      const changes = open.bytes.changes();
      for (const [key, value] of changes) changelogRecords.push({ topic, key, value, timestamp: Date.now(), headers: {}, partition: this.partition });
    }
    const topicMessages = toTopicMessages([...outputs, ...changelogRecords]);
    const lastChunkCounts = new Map<string, number>();
    for (const chunk of chunks(topicMessages)) for (const { topic, messages } of chunk) lastChunkCounts.set(topic, messages.length);
    const offsets = advanced.map(([topic, offset]) => ({ topic, partition: this.partition, offset: String(offset) }));
    const metadata: RecordMetadata[] = [];
    try {
      if (this.context.guarantee === 'exactly-once') {
        const transaction = await this.producer!.transaction();
        try {
          for (const chunk of chunks(topicMessages)) metadata.push(...(await sendBatchAcknowledged(transaction, { topicMessages: chunk, acks: -1 })));
          if (offsets.length > 0) await transaction.sendOffsets({ consumerGroupId: this.context.applicationId, topics: groupOffsets(offsets) });
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw error;
        }
      } else {
        for (const chunk of chunks(topicMessages)) metadata.push(...(await sendBatchAcknowledged(this.context.sharedProducer(), { topicMessages: chunk, acks: -1 })));
        if (offsets.length > 0) await this.context.commitConsumerOffsets(offsets);
      }
    } catch (error) {
      this.state = 'closed';
      throw new TaskFailure(`task ${this.id} could not commit: ${error instanceof Error ? error.message : String(error)}`, isFencing(error), error);
    }

    const operations: unknown[] = [];
    for (const { definition, bytes } of this.stores.values()) {
      if (definition.changelog.kind === 'internal') {
        if (!bytes.hasChanges) continue;
        const topic = changelogTopic(this.context.applicationId, definition);
        // The changelog records went out last, in order: the store is complete up to the end of the last send.
        const written = metadata.filter((entry) => entry.topicName === topic && entry.partition === this.partition).at(-1);
        operations.push(...bytes.flushOperations());
        if (written) operations.push(nextOffsetOperation(this.meta, definition.name, Number(written.baseOffset) + (lastChunkCounts.get(topic) ?? 0)));
      } else {
        operations.push(...bytes.flushOperations());
        const position = this.positions.get(definition.changelog.topic);
        if (position !== undefined) operations.push(nextOffsetOperation(this.meta, definition.name, position));
      }
    }
    if (operations.length > 0) await this.database.batch(operations as never);
    for (const { bytes } of this.stores.values()) bytes.clearBuffer();
    for (const [topic, offset] of advanced) this.committedPositions.set(topic, offset);
    if (includeOffsets) this.lastCommit = Date.now();
  }

  /** Clean close commits first; a dirty close (lost task, failed commit) drops uncommitted work. */
  async close(clean: boolean): Promise<void> {
    this.closing = true;
    await this.lock.run(async () => {
      if (clean && this.state === 'running') {
        try {
          await this.commitLocked(true);
        } catch (error) {
          this.context.logger.warn({ task: this.id, error: String(error) }, 'final commit failed; uncommitted work is dropped');
        }
      }
      this.state = 'closed';
      await this.task?.close().catch(() => undefined);
      await this.producer?.disconnect().catch(() => undefined);
      await this.database?.close().catch(() => undefined);
    });
  }
}

function deadLetter(context: TaskRunnerContext, topic: string, partition: number, raw: RawRecord, failure: RecordFailure): OutgoingRecord {
  return {
    topic: context.deadLetterTopic,
    key: raw.key,
    value: raw.value,
    timestamp: raw.timestamp,
    headers: {
      ...raw.headers,
      'dlq.error': failure.message.slice(0, 2_000),
      'dlq.stage': failure.stage,
      'dlq.topic': topic,
      'dlq.partition': String(partition),
      'dlq.offset': raw.offset,
      'dlq.application': context.applicationId,
    },
  };
}

function normalizeHeaders(headers: KafkaMessage['headers']): RecordHeaders {
  const normalized: RecordHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    normalized[name] = Array.isArray(value) ? (value[value.length - 1] ?? '') : value;
  }
  return normalized;
}

function toTopicMessages(records: OutgoingRecord[]): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const record of records) {
    const entry = byTopic.get(record.topic) ?? { topic: record.topic, messages: [] };
    entry.messages.push({
      key: record.key,
      value: record.value,
      timestamp: String(record.timestamp),
      headers: record.headers,
      ...(record.partition !== undefined ? { partition: record.partition } : {}),
    });
    byTopic.set(record.topic, entry);
  }
  return [...byTopic.values()];
}

function groupOffsets(offsets: Array<{ topic: string; partition: number; offset: string }>) {
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const { topic, partition, offset } of offsets) byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset }]);
  return [...byTopic.entries()].map(([topic, partitions]) => ({ topic, partitions }));
}

/**
 * Splits a commit's records into sends of at most `size` messages: kafkajs groups a send's
 * messages by partition in time quadratic in their number, so one huge send (a backlog)
 * would stall the task for seconds.
 */
function chunks(topicMessages: TopicMessages[], size = 1_000): TopicMessages[][] {
  const result: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let count = 0;
  for (const { topic, messages } of topicMessages) {
    for (let start = 0; start < messages.length; ) {
      const take = Math.min(size - count, messages.length - start);
      current.push({ topic, messages: messages.slice(start, start + take) });
      count += take;
      start += take;
      if (count === size) {
        result.push(current);
        current = [];
        count = 0;
      }
    }
  }
  if (current.length > 0) result.push(current);
  return result;
}
