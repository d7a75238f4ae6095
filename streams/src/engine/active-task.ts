import path from 'node:path';
import { isTransient } from '../kafka/errors.ts';
import { partitionKey } from '../kafka/partition-key.ts';
import { backoffDelay, describeError } from '../kafka/retry.ts';
import type { RawRecord } from '../record.ts';
import type { KeyValueSerdes } from '../serde.ts';
import type { StateStore } from '../stores/state-store.ts';
import { RecordFailure, StreamTask, taskId, type TaskId } from '../task.ts';
import type { ResolvedTopology, Subtopology } from '../topology.ts';
import type { ChangelogReader } from './changelog-reader.ts';
import type { RuntimeLogger } from './logger.ts';
import type { StreamsMetrics, TaskCounters } from './metrics.ts';
import { RecordQueue } from './partition-group.ts';
import type { RecordCollector, TopicPartitionOffset, WrittenOffsets } from './record-collector.ts';
import { StateManager, type RestoreRange } from './state-manager.ts';

export interface TaskContext {
  topology: ResolvedTopology;
  /** `<state dir>/<application id>`: each task's database lives below it. */
  applicationDirectory: string;
  logger: RuntimeLogger;
  globalStores: ReadonlyMap<string, StateStore>;
  collector: RecordCollector;
  reader: ChangelogReader;
  deadLetterTopic: string;
  rejectNullKeys: boolean;
  /** Records stamped further ahead of the clock go to the dead-letter topic (see StreamTask.maxFutureTimestampMs). */
  maxFutureTimestampMs: number;
  /** Whether re-keying sub-topologies order records across their tasks' partitions (see PartitionGroup). */
  crossPartitionOrder: boolean;
  metrics: StreamsMetrics;
}

/** Read when a task starts: the committed input offsets, and where each input and changelog partition starts and ends. */
export interface TaskOffsets {
  committed: ReadonlyMap<string, number>;
  logs: ReadonlyMap<string, { start: number; end: number }>;
}

export type TaskState = 'created' | 'restoring' | 'running' | 'closed';


/**
 * A task as it runs on an instance (Kafka Streams' StreamTask): its processors (StreamTask),
 * its stores (StateManager), its input queues (PartitionGroup), its positions. It restores its
 * stores before it processes, processes records one at a time handing outputs to the
 * instance's record collector, and prepares and completes the commits the instance makes.
 */
export class ActiveTask {
  state: TaskState = 'created';
  readonly id: TaskId;
  private stateManager: StateManager | undefined;
  private processing: StreamTask | undefined;
  /** Its input partitions' fetched records, by topic (the task manager orders them across partitions). */
  readonly queues = new Map<string, RecordQueue>();
  /** Next offset to process per input topic. */
  private readonly positions = new Map<string, number>();
  private readonly committedPositions = new Map<string, number>();
  /** Not processable before this time: its head record failed for a passing reason. */
  private retryAt = 0;
  /** Transient failures of the head record in a row (its retries back off). */
  private transientFailures = 0;
  /** Taken once: the hot path only increments its fields. */
  private readonly counters: TaskCounters;
  /** Aborted by `close`: a restore waiting for a server to come back stops waiting. */
  private readonly closed = new AbortController();

  constructor(
    private readonly context: TaskContext,
    readonly subtopology: Subtopology<string>,
    readonly partition: number,
  ) {
    this.id = taskId(subtopology.id, partition);
    this.counters = context.metrics.task(this.id);
  }

  get inputTopics(): readonly string[] {
    return this.subtopology.sources;
  }

  get stores(): ReadonlyMap<string, { store: StateStore }> {
    return this.stateManager?.stores ?? new Map();
  }

  /** The next offset to process per input topic (for the consumer lag). */
  get inputPositions(): ReadonlyMap<string, number> {
    return this.positions;
  }

  /** Opens the local state and brings every store up to its changelog. */
  async restore(offsets: TaskOffsets): Promise<number> {
    const { topology, logger, reader, applicationDirectory } = this.context;
    const started = performance.now();
    this.state = 'restoring';
    const definitions = this.subtopology.stores.map((name) => topology.store(name));
    this.stateManager = await StateManager.open(path.join(applicationDirectory, this.id), definitions, logger);
    const ranges: RestoreRange[] = [];
    for (const store of definitions) {
      // A table read from its source topic is restored up to where the task's input starts.
      const changelog = offsets.logs.get(store.changelogTopic) ?? { start: 0, end: 0 };
      const log = store.changelog.kind === 'source-topic' ? { start: changelog.start, end: offsets.committed.get(store.changelogTopic) ?? changelog.start } : changelog;
      const from = await this.stateManager.restoreStart(store, this.partition, log, logger, this.id);
      ranges.push({ store: store.name, topic: store.changelogTopic, partition: this.partition, from, to: log.end });
    }
    let restored = 0;
    const stateManager = this.stateManager;
    await reader.read(
      ranges.map(({ topic, partition, from, to }) => ({ topic, partition, from, to })),
      async (range, records, nextOffset) => {
        const store = ranges.find((candidate) => candidate.topic === range.topic)!;
        const definition = topology.store(store.store);
        const { applied, skipped } = await stateManager.applyRestored(store.store, records, nextOffset, definition.changelog.kind === 'source-topic' ? this.sourceSerdes(range.topic) : undefined, {
          logger,
          where: { task: this.id, topic: range.topic, partition: range.partition },
          signal: this.closed.signal,
        });
        restored += applied;
        this.counters.restored += applied;
        this.counters.skippedOnRestore += skipped;
      },
    );
    this.context.metrics.restored(this.id, (performance.now() - started) / 1_000);
    return restored;
  }

  private sourceSerdes(topic: string): KeyValueSerdes<unknown, unknown> {
    for (const name of this.subtopology.nodes) {
      const node = this.context.topology.node(name);
      if (node.kind === 'source' && node.topics.includes(topic)) return node.serdes;
    }
    throw new Error(`no source node reads ${topic}`);
  }

  /** Starts the processors; input is read from the committed offsets (the log start where none are). */
  async start(offsets: TaskOffsets): Promise<Map<string, number>> {
    this.processing = this.newStreamTask();
    await this.processing.init();
    const starts = new Map<string, number>();
    for (const topic of this.inputTopics) {
      const start = offsets.committed.get(topic) ?? offsets.logs.get(topic)?.start ?? 0;
      starts.set(topic, start);
      this.positions.set(topic, start);
      this.committedPositions.set(topic, start);
    }
    for (const [topic, position] of starts) this.queues.set(topic, new RecordQueue(topic, this.partition, position));
    this.state = 'running';
    return starts;
  }

  private newStreamTask(): StreamTask {
    const { topology, globalStores, rejectNullKeys } = this.context;
    const task = new StreamTask(topology, this.subtopology, this.partition, this.stateManager!.stores, globalStores, rejectNullKeys);
    task.inputsCaughtUp = () => [...this.queues.values()].every((queue) => queue.caughtUp);
    task.maxFutureTimestampMs = this.context.maxFutureTimestampMs;
    return task;
  }

  /**
   * Runs the punctuations that are due; their outputs go to the record collector. One that fails
   * is rolled back and logged: it runs again at its next time.
   */
  async punctuate(now: number): Promise<void> {
    if (this.state !== 'running') return;
    try {
      await this.processing!.punctuate(now);
    } catch (error) {
      if (!(error instanceof RecordFailure)) throw error;
      this.context.logger.warn({ task: this.id, error: error.message }, 'a punctuation failed; its changes are rolled back');
    }
    for (const output of this.processing!.drainOutputs()) this.context.collector.send(output);
  }

  /** When the task's next wall-clock punctuation is due. */
  get nextPunctuation(): number | undefined {
    return this.state === 'running' ? this.processing?.nextWallClockPunctuation : undefined;
  }

  /** Whether the task may process now: running, and not waiting to retry its head record. */
  mayProcess(now: number): boolean {
    return this.state === 'running' && now >= this.retryAt;
  }

  /** When this task may process again after a transient failure (undefined: it is not waiting to retry). */
  retryDeadline(now: number): number | undefined {
    return this.state === 'running' && this.retryAt > now ? this.retryAt : undefined;
  }

  /**
   * Processes the head record of `queue`: its outputs go to the record collector. A record that
   * fails for good goes to the dead-letter topic; one that fails for a passing reason (the
   * schema registry is down) stays at the head and the task waits before trying it again.
   */
  async processHead(queue: RecordQueue): Promise<void> {
    const record = queue.peek()!;
    const raw: RawRecord = { key: record.key, value: record.value, timestamp: record.timestamp, headers: record.headers, offset: String(record.offset) };
    const { collector, logger } = this.context;
    try {
      await this.processing!.process(queue.topic, raw);
      this.transientFailures = 0;
      this.counters.processed += 1;
    } catch (error) {
      if (!(error instanceof RecordFailure)) throw error;
      if (isTransient(error.cause)) {
        this.transientFailures += 1;
        const delay = backoffDelay(this.transientFailures);
        this.retryAt = Date.now() + delay;
        logger.warn({ task: this.id, topic: queue.topic, offset: record.offset, retryInMs: delay, error: error.message }, 'transient failure; retrying the record');
        return;
      }
      logger.warn({ task: this.id, topic: queue.topic, partition: this.partition, offset: record.offset, stage: error.stage, error: error.message }, 'record sent to the dead-letter topic');
      this.processing!.emit(deadLetter(this.context, queue.topic, this.partition, raw, error));
      this.counters.deadLetters += 1;
    }
    queue.poll();
    this.positions.set(queue.topic, record.offset + 1);
    for (const output of this.processing!.drainOutputs()) collector.send(output);
  }

  /** Whether anything (store changes, consumed offsets) waits for a commit. */
  get hasUncommittedWork(): boolean {
    if (this.state !== 'running') return false;
    if (this.processing!.hasPendingWork) return true;
    for (const [topic, offset] of this.positions) if (this.committedPositions.get(topic) !== offset) return true;
    return false;
  }

  /** Hands the stores' changes since the last commit to the collector, one changelog record per changed key. */
  prepareCommit(): TopicPartitionOffset[] {
    if (this.state !== 'running') return [];
    const { topology, collector } = this.context;
    const now = Date.now();
    for (const [name, open] of this.stateManager!.stores) {
      const definition = topology.store(name);
      if (definition.changelog.kind !== 'internal' || !open.bytes.hasChanges) continue;
      for (const [key, value] of open.bytes.changes()) collector.send({ topic: definition.changelogTopic, key, value, timestamp: now, headers: {}, partition: this.partition });
    }
    const offsets: TopicPartitionOffset[] = [];
    for (const [topic, offset] of this.positions) if (this.committedPositions.get(topic) !== offset) offsets.push({ topic, partition: this.partition, offset });
    return offsets;
  }

  /** After the commit: the stores' changes go to LevelDB with their new checkpoints (`written`: where the commit's changelog records end). */
  async completeCommit(written: WrittenOffsets): Promise<void> {
    if (this.state !== 'running') return;
    const { topology } = this.context;
    const checkpoints = new Map<string, number>();
    for (const [name, open] of this.stateManager!.stores) {
      const definition = topology.store(name);
      if (definition.changelog.kind === 'internal') {
        const changelogEnd = written.get(partitionKey(definition.changelogTopic, this.partition));
        if (open.bytes.hasChanges && changelogEnd !== undefined) checkpoints.set(name, changelogEnd);
      } else {
        const position = this.positions.get(definition.changelogTopic);
        if (position !== undefined) checkpoints.set(name, position);
      }
    }
    await this.stateManager!.flush(checkpoints);
    for (const [topic, offset] of this.positions) this.committedPositions.set(topic, offset);
  }

  /**
   * Back to the last commit after an aborted transaction: uncommitted store changes are
   * dropped, the processors restarted, and input is read again from the committed offsets.
   */
  async revive(): Promise<Map<string, number>> {
    if (this.state !== 'running') return new Map();
    this.stateManager!.dropUncommitted();
    await this.processing!.close().catch(() => undefined);
    this.processing = this.newStreamTask();
    await this.processing.init();
    this.retryAt = 0;
    for (const [topic, offset] of this.committedPositions) {
      this.positions.set(topic, offset);
      this.queues.get(topic)!.reset(offset);
    }
    return new Map(this.committedPositions);
  }

  /** Closes processors and stores; uncommitted changes are dropped (a clean close commits first). */
  async close(): Promise<void> {
    this.state = 'closed';
    this.closed.abort();
    await this.processing?.close().catch((error: unknown) => this.context.logger.warn({ task: this.id, error: describeError(error) }, 'closing processors failed'));
    this.stateManager?.dropUncommitted();
    await this.stateManager?.close();
  }
}

function deadLetter(context: TaskContext, topic: string, partition: number, raw: RawRecord, failure: RecordFailure) {
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
      'dlq.application': context.topology.applicationId,
    },
  };
}
