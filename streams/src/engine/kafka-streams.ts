import os from 'node:os';
import path from 'node:path';
import type { Admin } from '@platformatic/kafka';
import type { BrokerConnections } from '../kafka/broker-connections.ts';
import type { KafkaClients } from '../kafka/clients.ts';
import { beginningOffsets } from '../kafka/admin.ts';
import { Fetcher } from '../kafka/fetcher.ts';
import { partitionForKey } from '../partitioner.ts';
import type { StateStore } from '../stores/state-store.ts';
import { taskId } from '../task.ts';
import type { ResolvedTopology, Subtopology, Topology } from '../topology.ts';
import type { TaskSource } from './assignor.ts';
import { ChangelogReader } from './changelog-reader.ts';
import { GlobalStores } from './global-stores.ts';
import { GroupMembership, rebalanceTimeoutMs } from './group-membership.ts';
import { prepareTopics } from './internal-topics.ts';
import { silentLogger, type RuntimeLogger } from './logger.ts';
import { StreamsMetrics, type MetricsObserver, type StreamsMetricsSnapshot } from './metrics.ts';
import { PartitionOwners, type Owner } from './owners.ts';
import { RecordCollector, type ProcessingGuarantee } from './record-collector.ts';
import { instanceProbes, StallWatch } from './stall-watch.ts';
import { lockStateDirectory, processId } from './state-manager.ts';
import type { StreamsState } from './streams-state.ts';
import { StreamThread } from './stream-thread.ts';
import { TaskManager } from './task-manager.ts';

export type { StreamsState };

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
  /** A part of the instance without progress for this long while it has work is logged as stalled (default 15 s; see StallWatch). */
  stallWarningMs?: number;
}

export type KeyOwner = { status: 'local' } | Owner;

/** How long a fetch may wait for records at the broker (Java's fetch.max.wait.ms default). */
const fetchMaxWaitMs = 500;

/**
 * Runs a topology on Kafka (Kafka Streams' KafkaStreams with its one stream thread): one
 * consumer group member per instance, one task per input partition of each sub-topology,
 * exactly-once by default. It builds the parts (clients, stores, tasks, group member) and
 * hands the processing to its StreamThread. Several instances with the same application id share the work; each advertises `endpoint`
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
  private stallWatch: StallWatch | undefined;
  private thread: StreamThread | undefined;
  /** Releases the instance's state folder (see lockStateDirectory). */
  private releaseStateDirectory: (() => Promise<void>) | undefined;

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
        this.thread?.wake();
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
        this.thread?.wake();
        if (this.currentState === 'rebalancing') this.thread?.checkRunning();
      },
    });
    const sources: TaskSource[] = this.topology.subtopologies.map((subtopology) => ({ subtopology: subtopology.id, topics: subtopology.sources }));
    this.membership = new GroupMembership(this.connections, {
      groupId: this.applicationId,
      sources,
      sessionTimeoutMs,
      logger,
      memberInfo: () => ({ endpoint: this.options.endpoint ?? '', tasks: this.taskManager.assignedTasks }),
      onRebalance: () => this.thread!.rebalanceBegins(),
      onAssignment: (assignment) => this.thread!.assignmentArrived(assignment),
    });
    this.thread = new StreamThread({
      applicationId: this.applicationId,
      topology: this.topology,
      guarantee: this.guarantee,
      commitIntervalMs: this.commitIntervalMs,
      maxTaskIdleMs: this.maxTaskIdleMs,
      rebalanceTimeoutMs: rebalanceTimeoutMs(sessionTimeoutMs),
      collector: this.collector,
      taskManager: this.taskManager,
      membership: this.membership,
      owners: this.owners,
      metrics: this.streamsMetrics,
      logger,
      onRebalancing: () => {
        if (this.currentState === 'running') this.setState('rebalancing');
      },
      onRunning: () => {
        if (this.currentState === 'rebalancing') this.setState('running');
      },
    });
    this.setState('rebalancing');
    this.thread.start();
    this.membership.join();
    this.stallWatch = new StallWatch({ probes: instanceProbes({ thread: this.thread, taskManager: this.taskManager, fetcher: this.fetcher }), logger, ...(this.options.stallWarningMs !== undefined ? { thresholdMs: this.options.stallWarningMs } : {}) });
    this.stallWatch.start();
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
    this.setState('pending-shutdown');
    this.stallWatch?.stop();
    if (this.thread) {
      await this.thread.shutdown();
      await this.membership.close();
      this.fetcher.close();
    }
    await this.reader?.close();
    await this.globalStores?.close();
    await this.collector?.close();
    await this.connections?.close();
    await this.releaseStateDirectory?.();
    this.setState('not-running');
  }
}
