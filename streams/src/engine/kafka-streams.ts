import os from 'node:os';
import path from 'node:path';
import type { Admin } from '@platformatic/kafka';
import type { BrokerConnections } from '../kafka/broker-connections.ts';
import type { KafkaClients } from '../kafka/clients.ts';
import { errorIds, isFencing } from '../kafka/errors.ts';
import { beginningOffsets } from '../kafka/admin.ts';
import { Fetcher } from '../kafka/fetcher.ts';
import { describeError, retry, sleep } from '../kafka/retry.ts';
import { partitionForKey } from '../partitioner.ts';
import type { StateStore } from '../stores/state-store.ts';
import { taskId } from '../task.ts';
import type { ResolvedTopology, Subtopology, Topology } from '../topology.ts';
import type { TaskSource } from './assignor.ts';
import { ChangelogReader } from './changelog-reader.ts';
import { GlobalStores } from './global-stores.ts';
import { GroupMembership, rebalanceTimeoutMs, type GroupAssignment } from './group-membership.ts';
import { prepareTopics } from './internal-topics.ts';
import { silentLogger, type RuntimeLogger } from './logger.ts';
import { StreamsMetrics, type MetricsObserver, type StreamsMetricsSnapshot } from './metrics.ts';
import { PartitionOwners, type Owner } from './owners.ts';
import { RecordCollector, type GroupGeneration, type ProcessingGuarantee } from './record-collector.ts';
import { lockStateDirectory, processId } from './state-manager.ts';
import { TaskManager } from './task-manager.ts';

export interface StreamsOptions {
  applicationId: string;
  topology: Topology;
  /** The Kafka client factory (the caller owns it: it is not closed with the application). */
  clients: KafkaClients;
  /** Where task state lives (a LevelDB per task). Default: <tmp>/ecosystem-streams. */
  stateDirectory?: string;
  guarantee?: ProcessingGuarantee;
  /** How often the instance commits (default 100 ms), as Kafka Streams' commit.interval.ms: at most one transaction per interval. */
  commitIntervalMs?: number;
  /** How long a task waits for an input partition known to have records before going on without it (default 1 s). */
  maxTaskIdleMs?: number;
  /**
   * Whether a sub-topology that re-keys orders its records across all its tasks' partitions
   * (see PartitionGroup; default true). Off, each task orders only its own partitions, as
   * Kafka Streams does.
   */
  crossPartitionOrder?: boolean;
  /** host:port advertised to the group for interactive queries. */
  endpoint?: string;
  logger?: RuntimeLogger;
  /** Partitions of internal topics that no external topic sizes (default: the largest source topic). */
  internalTopicPartitions?: number;
  /** Replication factor of internal topics (default: the broker's default). */
  replicationFactor?: number;
  /** Consumer session timeout: how long a crashed instance holds its tasks (default 10 s). */
  sessionTimeoutMs?: number;
  /** How long the broker keeps a transaction of a silent instance open before aborting it (default 10 s). */
  transactionTimeoutMs?: number;
  /** Send records without a key to the dead-letter topic (default: process them, as Kafka Streams does). */
  rejectNullKeys?: boolean;
  /**
   * Send records stamped further ahead of the wall clock than this to the dead-letter topic
   * (default 1 hour): one record with a timestamp a year ahead would otherwise move a task's
   * stream time a year ahead for good, and close every window and session.
   */
  maxFutureTimestampMs?: number;
  /** Receives the duration of each commit and restore (e.g. Prometheus histograms); the rest is read with `metrics()`. */
  metrics?: MetricsObserver;
}

export type StreamsState = 'created' | 'starting' | 'rebalancing' | 'running' | 'pending-shutdown' | 'not-running' | 'error';

export type KeyOwner = { status: 'local' } | Owner;

/**
 * The transaction committed, but writing its store changes to LevelDB afterwards failed (a full
 * disk, say): the local state is behind what the broker has committed.
 */
class LocalStateBehind extends Error {
  constructor(override readonly cause: unknown) {
    super(`the transaction committed but the local stores could not take its changes: ${describeError(cause)}`);
    this.name = 'LocalStateBehind';
  }
}

/** Answers to an offset commit saying the member's generation is over. */
const groupFencingIds = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);

/** How long a fetch may wait for records at the broker (Java's fetch.max.wait.ms default). */
const fetchMaxWaitMs = 500;

/** Records the loop processes before it looks at rebalances, commits and the event loop again. */
const maxRecordsPerSlice = 1_000;
const maxSliceMs = 25;
/** Outputs waiting to be sent beyond which processing waits for the producer. */
const maxPendingOutputs = 20_000;

/**
 * Runs a topology on Kafka (Kafka Streams' KafkaStreams with its one stream thread): one
 * consumer group member per instance, one task per input partition of each sub-topology,
 * exactly-once by default. The instance's loop takes the record with the smallest timestamp
 * among its tasks' fetched records, processes it, and commits all tasks together in one
 * transaction every `commitIntervalMs` (or as soon as it has nothing more to process).
 * Several instances with the same application id share the work; each advertises `endpoint`
 * so any instance can tell which one owns a key (`ownerOf`) and forward a query there.
 */
export class KafkaStreams {
  private currentState: StreamsState = 'created';
  private readonly listeners: Array<(state: StreamsState, previous: StreamsState) => void> = [];
  private readonly owners = new PartitionOwners();
  private readonly guarantee: ProcessingGuarantee;
  private readonly commitIntervalMs: number;
  private readonly maxTaskIdleMs: number;
  private readonly stateDirectory: string;
  private readonly logger: RuntimeLogger;
  private readonly streamsMetrics: StreamsMetrics;
  readonly topology: ResolvedTopology;
  private partitionCounts = new Map<string, number>();
  private admin!: Admin;
  private connections!: BrokerConnections;
  private reader!: ChangelogReader;
  private globalStores!: GlobalStores;
  private collector!: RecordCollector;
  private fetcher!: Fetcher;
  private taskManager!: TaskManager;
  private membership!: GroupMembership;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** A wake-up that came while the loop was not waiting (set by `wake`, cleared at each turn of the loop). */
  private wokenMeanwhile = false;
  private lastCommit = Date.now();
  /** A rebalance began and the loop has not committed for it yet. */
  private rebalanceStarted = false;
  private committedForRebalance = false;
  private pendingAssignment: GroupAssignment | undefined;
  /** The generation of the assignment the tasks run under: offsets are committed for it. */
  private generation: GroupGeneration | undefined;
  private assignment: GroupAssignment | undefined;
  /** Releases the instance's state folder (see lockStateDirectory). */
  private releaseStateDirectory: (() => Promise<void>) | undefined;
  /** Resolves the group member's wait at the start of a rebalance, once the loop has committed for it. */
  private rebalanceCommitted: (() => void) | undefined;
  private needsRecovery: unknown;

  constructor(private readonly options: StreamsOptions) {
    this.guarantee = options.guarantee ?? 'exactly-once';
    this.commitIntervalMs = options.commitIntervalMs ?? 100;
    this.maxTaskIdleMs = options.maxTaskIdleMs ?? 1_000;
    this.stateDirectory = options.stateDirectory ?? path.join(os.tmpdir(), 'ecosystem-streams');
    this.logger = options.logger ?? silentLogger;
    this.streamsMetrics = new StreamsMetrics(options.metrics);
    this.topology = options.topology.resolve(options.applicationId);
    const external = this.topology.subtopologies.flatMap((subtopology) => subtopology.sources);
    const duplicate = external.find((topic, index) => external.indexOf(topic) !== index);
    if (duplicate) throw new Error(`topic ${duplicate} is read by two sources; read it once and reuse the stream`);
  }

  get applicationId(): string {
    return this.options.applicationId;
  }

  get state(): StreamsState {
    return this.currentState;
  }

  /** Ready to serve: running, every assigned task restored, and the owner map known. */
  get isReady(): boolean {
    return this.currentState === 'running';
  }

  get deadLetterTopic(): string {
    return `${this.applicationId}.dlq`;
  }

  onStateChange(listener: (state: StreamsState, previous: StreamsState) => void): void {
    this.listeners.push(listener);
  }

  private setState(state: StreamsState): void {
    const previous = this.currentState;
    if (previous === state) return;
    this.currentState = state;
    this.logger.info({ application: this.applicationId, state, previous }, 'streams state changed');
    for (const listener of this.listeners) listener(state, previous);
  }

  private get stopping(): boolean {
    return this.currentState === 'pending-shutdown' || this.currentState === 'not-running';
  }

  /** Aborted by `close`: a recovery waiting to retry stops waiting. */
  private readonly closing = new AbortController();

  async start(): Promise<void> {
    if (this.currentState !== 'created') throw new Error(`cannot start streams in state ${this.currentState}`);
    this.setState('starting');
    const { clients } = this.options;
    const logger = this.logger;
    try {
      this.releaseStateDirectory = await lockStateDirectory(this.stateDirectory, this.applicationId);
    } catch (error) {
      this.setState('error');
      throw error;
    }
    this.admin = clients.admin();
    this.partitionCounts = await prepareTopics(this.admin, this.topology, {
      deadLetterTopic: this.deadLetterTopic,
      logger,
      ...(this.options.internalTopicPartitions !== undefined ? { defaultPartitions: this.options.internalTopicPartitions } : {}),
      ...(this.options.replicationFactor !== undefined ? { replicationFactor: this.options.replicationFactor } : {}),
    });
    const applicationDirectory = path.join(this.stateDirectory, this.applicationId);
    const sessionTimeoutMs = this.options.sessionTimeoutMs ?? 10_000;
    this.connections = clients.connections(this.applicationId, { fetch: fetchMaxWaitMs, restore: fetchMaxWaitMs, group: rebalanceTimeoutMs(sessionTimeoutMs) });
    this.reader = new ChangelogReader(this.connections, this.admin, logger);
    this.globalStores = new GlobalStores(this.topology.globalStores, { admin: this.admin, reader: this.reader, logger, applicationDirectory });
    await this.globalStores.start();

    this.collector = new RecordCollector(this.connections, {
      guarantee: this.guarantee,
      transactionalId: `${this.applicationId}-${await processId(this.stateDirectory, this.applicationId)}`,
      ...(this.options.transactionTimeoutMs !== undefined ? { transactionTimeoutMs: this.options.transactionTimeoutMs } : {}),
      logger,
    });
    await this.collector.init();
    this.fetcher = new Fetcher({
      connections: this.connections,
      role: 'fetch',
      maxWaitMs: fetchMaxWaitMs,
      readCommitted: this.guarantee === 'exactly-once',
      logger,
      onFetched: (fetched) => {
        this.taskManager.addRecords(fetched);
        this.wake();
      },
      onOutOfRange: async (topic, partition) => (await beginningOffsets(this.admin, new Map([[topic, [partition]]]))).get(topic)?.get(partition) ?? 0,
    });
    this.taskManager = new TaskManager({
      context: {
        topology: this.topology,
        applicationDirectory,
        logger,
        globalStores: this.globalStores.stores,
        collector: this.collector,
        reader: this.reader,
        deadLetterTopic: this.deadLetterTopic,
        rejectNullKeys: this.options.rejectNullKeys ?? false,
        maxFutureTimestampMs: this.options.maxFutureTimestampMs ?? 60 * 60 * 1_000,
        crossPartitionOrder: this.options.crossPartitionOrder ?? true,
        metrics: this.streamsMetrics,
      },
      admin: this.admin,
      groupId: this.applicationId,
      input: this.fetcher,
      onTaskChange: () => {
        this.wake();
        this.checkRunning();
      },
    });
    const sources: TaskSource[] = this.topology.subtopologies.map((subtopology) => ({ subtopology: subtopology.id, topics: subtopology.sources }));
    this.membership = new GroupMembership(this.connections, {
      groupId: this.applicationId,
      sources,
      sessionTimeoutMs,
      logger,
      memberInfo: () => ({ endpoint: this.options.endpoint ?? '', tasks: this.taskManager.assignedTasks }),
      onRebalance: () => {
        this.rebalanceStarted = true;
        this.owners.invalidate();
        if (this.currentState === 'running') this.setState('rebalancing');
        const committed = new Promise<void>((resolve) => (this.rebalanceCommitted = resolve));
        this.wake();
        // A loop that cannot commit in time must not keep the whole group waiting: the member joins anyway.
        return Promise.race([committed, sleep(rebalanceTimeoutMs(sessionTimeoutMs) / 2, this.closing.signal)]);
      },
      onAssignment: (assignment) => {
        this.pendingAssignment = assignment;
        this.owners.invalidate();
        if (this.currentState === 'running') this.setState('rebalancing');
        this.wake();
      },
    });
    this.setState('rebalancing');
    this.loop = this.run();
    this.membership.join();
  }

  /** Ends the loop's wait for work; when it is not waiting (busy committing), its next wait returns at once. */
  private wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    if (wakeUp) wakeUp();
    else this.wokenMeanwhile = true;
  }

  /** The stream thread: rebalances, processing, commits, recovery, until the instance closes. */
  private async run(): Promise<void> {
    while (!this.stopping) {
      // Whatever arrives from here on is either seen by this slice or wakes the next wait.
      this.wokenMeanwhile = false;
      try {
        if (this.needsRecovery !== undefined) await this.recover();
        if (this.rebalanceStarted || this.pendingAssignment) await this.handleRebalance();
        const processed = await this.processSlice();
        if (!this.rebalanceStarted && !this.pendingAssignment && !this.collector.failed) await this.taskManager.punctuate(Date.now());
        this.collector.kick();
        this.taskManager.resumeDrained();
        if (this.commitNeeded()) await this.commit();
        if (processed === 0) await this.waitForWork();
        else await new Promise((resolve) => setImmediate(resolve));
      } catch (error) {
        this.needsRecovery = error;
      }
    }
  }

  private async processSlice(): Promise<number> {
    const started = Date.now();
    let processed = 0;
    while (processed < maxRecordsPerSlice && !this.stopping && !this.rebalanceStarted && !this.pendingAssignment && !this.collector.failed) {
      const now = Date.now();
      if (processed > 0 && (now - started > maxSliceMs || now - this.lastCommit >= this.commitIntervalMs)) break;
      const next = this.taskManager.next(now, this.maxTaskIdleMs);
      if (!next) break;
      await next.task.processHead(next.queue);
      processed += 1;
      if (this.collector.pending > maxPendingOutputs) await this.collector.flush();
    }
    return processed;
  }

  /**
   * As Kafka Streams does: once the commit interval has passed since the last commit, if anything
   * waits for one. So an instance runs at most one transaction per interval, whatever its load
   * (each costs the broker an EndTxn, a marker per partition touched and the offsets' write);
   * the interval is the latency an output waits, at most, to become visible.
   */
  private commitNeeded(): boolean {
    if (this.collector.failed) return true;
    if (!this.collector.hasOpenTransaction && this.collector.pending === 0 && !this.taskManager.hasUncommittedWork) return false;
    return Date.now() - this.lastCommit >= this.commitIntervalMs;
  }

  private async commit(): Promise<void> {
    const started = performance.now();
    const offsets = this.taskManager.prepareCommit();
    const written = await this.collector.commit(offsets, this.generation, (committed) => this.membership.commitOffsets(committed));
    try {
      await this.taskManager.completeCommit(written);
    } catch (error) {
      throw new LocalStateBehind(error);
    }
    this.lastCommit = Date.now();
    this.streamsMetrics.committed((performance.now() - started) / 1_000);
  }

  /**
   * After a failed send or commit: the open transaction is aborted (a fenced or broken producer
   * replaced) and every task goes back to its last commit. Retried until it works.
   */
  private async recover(): Promise<void> {
    const reason = this.needsRecovery;
    this.logger.warn({ error: describeError(reason), fenced: isFencing(reason) }, 'aborting uncommitted work; tasks resume from their last commit');
    if (!this.pendingAssignment && [...errorIds(reason)].some((id) => groupFencingIds.has(id))) {
      // The group no longer counts this member in the generation its tasks run under: nothing
      // is processed until it has joined again and knows its tasks.
      this.rebalanceStarted = true;
      this.committedForRebalance = true;
      this.membership.rejoin();
    }
    const restart = reason instanceof LocalStateBehind;
    await retry(
      async () => {
        await this.collector.abort();
        if (!restart) {
          await this.taskManager.reviveAll();
          return;
        }
        // The transaction committed but the stores did not take its changes: the tasks' own idea
        // of their last commit is behind the broker's. They start over from what the broker has:
        // the committed offsets, and the stores restored from their changelogs.
        await this.taskManager.closeAll(false);
        if (this.assignment) await this.taskManager.handleAssignment(this.tasksOf(this.assignment));
      },
      { initialDelayMs: 200, maxDelayMs: 5_000, signal: this.closing.signal, onRetry: (error, attempt) => this.logger.warn({ attempt, error: describeError(error) }, 'recovery failed; retrying') },
    );
    this.needsRecovery = undefined;
    this.lastCommit = Date.now();
  }

  /**
   * Eager rebalancing, as Kafka Streams' stream thread does it: at the start of a rebalance the
   * instance commits under the generation that is ending and stops processing; when its new
   * assignment arrives it closes the tasks it lost and starts the new ones. An assignment that
   * was not preceded by such a commit (the instance was thrown out of the group, e.g. after
   * being paused past its session timeout) means other instances may have run its tasks
   * meanwhile: its uncommitted work is dropped and every task restarts from the group's
   * committed state.
   */
  private async handleRebalance(): Promise<void> {
    if (this.rebalanceStarted && !this.committedForRebalance) {
      this.committedForRebalance = true;
      if (this.taskManager.hasUncommittedWork || this.collector.hasOpenTransaction) {
        await this.commit().catch((error: unknown) => {
          this.needsRecovery = error;
          this.committedForRebalance = false;
        });
      }
      this.rebalanceCommitted?.();
      this.rebalanceCommitted = undefined;
    }
    const assignment = this.pendingAssignment;
    if (!assignment) {
      await this.waitForWork();
      return;
    }
    this.pendingAssignment = undefined;
    const previous = this.generation;
    const continuous = previous !== undefined && previous.memberId === assignment.generation.memberId && assignment.generation.generationId === previous.generationId + 1 && this.committedForRebalance && this.needsRecovery === undefined;
    if (previous !== undefined && !continuous && this.taskManager.tasks.size > 0) {
      this.logger.warn({ previousGeneration: previous.generationId, generation: assignment.generation.generationId }, 'tasks may have run elsewhere since the last commit; restarting them from the committed state');
      await this.collector.abort();
      await this.taskManager.closeAll(false);
    }
    this.needsRecovery = undefined;
    this.rebalanceStarted = false;
    this.committedForRebalance = false;
    this.generation = assignment.generation;
    this.assignment = assignment;
    this.streamsMetrics.rebalances += 1;
    await this.taskManager.handleAssignment(this.tasksOf(assignment));
    this.logger.info({ application: this.applicationId, generation: assignment.generation.generationId, tasks: this.taskManager.assignedTasks }, 'tasks assigned');
    this.owners.set(assignment.owners);
    this.checkRunning();
  }

  private tasksOf(assignment: GroupAssignment): Array<{ subtopology: Subtopology<string>; partition: number }> {
    const tasks: Array<{ subtopology: Subtopology<string>; partition: number }> = [];
    for (const subtopology of this.topology.subtopologies) {
      for (const partition of assignment.partitions.get(subtopology.sources[0]!) ?? []) {
        if (subtopology.sources.every((topic) => assignment.partitions.get(topic)?.includes(partition))) tasks.push({ subtopology, partition });
      }
    }
    return tasks;
  }

  private checkRunning(): void {
    if (this.currentState !== 'rebalancing' || this.rebalanceStarted || this.pendingAssignment) return;
    if (this.generation && this.taskManager.allRunning && this.owners.isAvailable) this.setState('running');
  }

  private waitForWork(): Promise<void> {
    if (this.wokenMeanwhile) return Promise.resolve();
    const now = Date.now();
    let wakeAt = now + 1_000;
    const idleEnd = this.taskManager.wakeUpAt(this.maxTaskIdleMs);
    if (idleEnd !== undefined) wakeAt = Math.min(wakeAt, idleEnd);
    if (this.collector.hasOpenTransaction || this.taskManager.hasUncommittedWork) wakeAt = Math.min(wakeAt, this.lastCommit + this.commitIntervalMs);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wake(), Math.max(1, wakeAt - now));
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private storeLocation(storeName: string): { subtopology: Subtopology<string>; topic: string } {
    const subtopology = this.topology.subtopologies.find((candidate) => candidate.stores.includes(storeName));
    if (!subtopology) throw new Error(`no store named ${storeName}`);
    return { subtopology, topic: subtopology.sources[0]! };
  }

  private partitionOf(storeName: string, key: unknown): { subtopology: Subtopology<string>; topic: string; partition: number } {
    const location = this.storeLocation(storeName);
    const definition = this.topology.store(storeName);
    const partitions = this.partitionCounts.get(location.topic) ?? 1;
    return { ...location, partition: partitionForKey(definition.keySerde.serialize(key), partitions) };
  }

  private runningTask(subtopology: Subtopology<string>, partition: number) {
    const task = this.taskManager?.tasks.get(taskId(subtopology.id, partition));
    return task?.state === 'running' ? task : undefined;
  }

  /** Which instance holds `key` of `storeName`: this one, another (its endpoint), or not known during a rebalance. */
  ownerOf(storeName: string, key: unknown): KeyOwner {
    const { topic, partition, subtopology } = this.partitionOf(storeName, key);
    const owner = this.owners.ownerOf(topic, partition);
    const mine = owner.status === 'available' && owner.endpoint === (this.options.endpoint ?? '');
    if (mine && this.runningTask(subtopology, partition)) return { status: 'local' };
    if (mine) return { status: 'unavailable', reason: 'the task is still restoring' };
    if (owner.status === 'available' && owner.endpoint === '') return { status: 'unavailable', reason: `the instance owning ${topic}-${partition} advertises no endpoint` };
    return owner;
  }

  /** The local store holding `key`, if this instance owns it and it is ready. */
  localStore<S extends StateStore>(storeName: string, key: unknown): S | undefined {
    const { subtopology, partition } = this.partitionOf(storeName, key);
    return this.runningTask(subtopology, partition)?.stores.get(storeName)?.store as S | undefined;
  }

  /** The local instances of a store (one per task of this instance), e.g. to scan all keys. */
  localStores<S extends StateStore>(storeName: string): S[] {
    return [...(this.taskManager?.tasks.values() ?? [])].filter((task) => task.state === 'running' && task.stores.has(storeName)).map((task) => task.stores.get(storeName)!.store as S);
  }

  /** A global store (every instance has all of it). */
  globalStore<S extends StateStore>(storeName: string): S {
    const store = this.globalStores.store(storeName);
    if (!store) throw new Error(`no global store named ${storeName}`);
    return store as S;
  }

  /** Endpoints of every instance of the application, for fan-out queries. */
  endpoints(): string[] {
    return this.owners.endpoints();
  }

  get assignedTasks(): string[] {
    return this.taskManager?.assignedTasks ?? [];
  }

  /** The instance's metrics now (Kafka Streams' `metrics()`): counters per task, task states, consumer lag, commits. */
  metrics(): StreamsMetricsSnapshot {
    return this.streamsMetrics.snapshot({ applicationId: this.applicationId, state: this.state, assigned: this.assignedTasks, running: this.taskManager?.tasks ?? new Map() });
  }

  /** Finishes the record in progress, commits, leaves the group and closes the stores. */
  async close(): Promise<void> {
    if (this.stopping) return;
    const wasStarted = this.loop !== undefined;
    this.setState('pending-shutdown');
    this.closing.abort();
    this.wake();
    await this.loop;
    if (wasStarted) {
      if (this.needsRecovery === undefined && this.generation && (this.taskManager.hasUncommittedWork || this.collector.hasOpenTransaction)) {
        await this.commit().catch((error: unknown) => this.logger.warn({ error: describeError(error) }, 'final commit failed; uncommitted work is dropped'));
      }
      await this.collector.abort().catch(() => undefined);
      await this.taskManager.closeAll();
      await this.membership.close();
      this.fetcher.close();
    }
    this.rebalanceCommitted?.();
    await this.reader?.close();
    await this.globalStores?.close();
    await this.collector?.close();
    await this.connections?.close();
    await this.releaseStateDirectory?.();
    this.setState('not-running');
  }
}
