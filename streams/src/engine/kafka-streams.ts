import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { partitionForKey } from '../partitioner.ts';
import type { StateStore } from '../stores/state-store.ts';
import { changelogTopic, resolveTopic, type Subtopology, type Topology } from '../topology.ts';
import { streamsAssigner, type TaskSource } from './assignor.ts';
import { RecordingPartitioner } from './acknowledged-send.ts';
import { GlobalStores } from './global-stores.ts';
import { silentLogger, type RuntimeLogger } from './logger.ts';
import { PartitionOwners, type Owner } from './owners.ts';
import { subscribeWhenKnown } from './subscribe.ts';
import { TaskFailure, TaskRunner, type ProcessingGuarantee } from './task-runner.ts';

export interface StreamsOptions {
  applicationId: string;
  topology: Topology;
  kafka: Kafka;
  /** Where task state lives (a LevelDB per task). Default: <tmp>/ecosystem-streams. */
  stateDirectory?: string;
  guarantee?: ProcessingGuarantee;
  /** How often tasks commit (default 100 ms). */
  commitIntervalMs?: number;
  /** host:port advertised to the group for interactive queries. */
  endpoint?: string;
  logger?: RuntimeLogger;
  /** Partitions of internal topics that no external topic sizes (default: the largest source topic). */
  internalTopicPartitions?: number;
  /** Replication factor of internal topics (default: the broker's default). */
  replicationFactor?: number;
  /** Consumer session timeout: how long a crashed instance holds its tasks (default 10 s). */
  sessionTimeoutMs?: number;
  /** Send records without a key to the dead-letter topic (default: process them, as Kafka Streams does). */
  rejectNullKeys?: boolean;
}

export type StreamsState = 'created' | 'starting' | 'rebalancing' | 'running' | 'pending-shutdown' | 'not-running' | 'error';

export type KeyOwner = { status: 'local' } | Owner;

/**
 * Runs a topology on Kafka: one consumer group member per instance, one task per input
 * partition of each sub-topology, exactly-once by default. Several instances with the same
 * application id share the work; each advertises `endpoint` so any instance can tell which
 * one owns a key (`ownerOf`) and forward a query there.
 */
export class KafkaStreams {
  private currentState: StreamsState = 'created';
  private readonly listeners: Array<(state: StreamsState, previous: StreamsState) => void> = [];
  private readonly runners = new Map<string, TaskRunner>();
  private readonly initializing = new Map<string, Promise<void>>();
  private readonly owners = new PartitionOwners();
  private readonly instanceId = randomUUID();
  private readonly guarantee: ProcessingGuarantee;
  private readonly commitIntervalMs: number;
  private readonly stateDirectory: string;
  private readonly logger: RuntimeLogger;
  private readonly partitionCounts = new Map<string, number>();
  private admin!: Admin;
  private consumer: Consumer | undefined;
  private sharedProducer: Producer | undefined;
  private globalStores!: GlobalStores;
  private commitTimer: NodeJS.Timeout | undefined;
  private joinGeneration = 0;
  private latestAssignment = new Set<string>();
  private failure: unknown;

  constructor(private readonly options: StreamsOptions) {
    this.guarantee = options.guarantee ?? 'exactly-once';
    this.commitIntervalMs = options.commitIntervalMs ?? 100;
    this.stateDirectory = options.stateDirectory ?? path.join(os.tmpdir(), 'ecosystem-streams');
    this.logger = options.logger ?? silentLogger;
    const external = options.topology.subtopologies.flatMap((subtopology) => subtopology.sources.filter((source) => 'external' in source).map((source) => (source as { external: string }).external));
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

  private sourceTopics(subtopology: Subtopology): string[] {
    return subtopology.sources.map((source) => resolveTopic(source, this.applicationId));
  }

  async start(): Promise<void> {
    if (this.currentState !== 'created') throw new Error(`cannot start streams in state ${this.currentState}`);
    this.setState('starting');
    const { kafka, topology } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    await this.createInternalTopics();

    this.globalStores = new GlobalStores(topology.globalStores, { kafka, admin: this.admin, logger: this.logger, stateDirectory: this.stateDirectory, applicationId: this.applicationId, instanceId: this.instanceId });
    await this.globalStores.start();

    if (this.guarantee === 'at-least-once') {
      this.sharedProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: RecordingPartitioner });
      await this.sharedProducer.connect();
    }

    const taskSources: TaskSource[] = topology.subtopologies.map((subtopology) => ({ subtopology: subtopology.id, topics: this.sourceTopics(subtopology) }));
    const consumer = kafka.consumer({
      groupId: this.applicationId,
      partitionAssigners: [streamsAssigner({ sources: () => taskSources, memberInfo: () => ({ endpoint: this.options.endpoint ?? '', tasks: [...this.runners.keys()] }) })],
      readUncommitted: this.guarantee === 'at-least-once',
      sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 30_000,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => {
      this.owners.invalidate();
      if (this.currentState === 'running') this.setState('rebalancing');
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => this.onAssignment(payload.memberAssignment));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.logger.error({ error: String(payload.error), restart: payload.restart }, 'consumer crashed');
      if (!payload.restart) {
        this.failure = payload.error;
        this.setState('error');
      }
    });
    await consumer.connect();
    await subscribeWhenKnown(consumer, [...new Set(taskSources.flatMap((source) => source.topics))]);
    this.setState('rebalancing');
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, Math.min(8, os.availableParallelism() * 2)),
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const runner = this.runnerFor(batch.topic, batch.partition);
        if (!runner || runner.state !== 'running') return;
        try {
          await runner.processBatch(batch.topic, batch.messages, { resolveOffset, heartbeat, isRunning, isStale });
        } catch (error) {
          await this.onTaskFailure(runner, error);
          return;
        }
        // Commits run behind the task's lock, not in the fetch loop: other tasks' records keep flowing meanwhile.
        const commit = runner.commitDue(this.commitIntervalMs, batch.offsetLag() === '0') ? runner.commit() : this.guarantee === 'at-least-once' ? runner.flush() : undefined;
        commit?.catch((error: unknown) => this.onTaskFailure(runner, error));
      },
    });
    this.commitTimer = setInterval(() => void this.commitDueTasks(), Math.max(10, Math.floor(this.commitIntervalMs / 2)));
  }

  private runnerFor(topic: string, partition: number): TaskRunner | undefined {
    for (const runner of this.runners.values()) if (runner.partition === partition && runner.state !== 'closed' && this.sourceTopics(runner.subtopology).includes(topic)) return runner;
    return undefined;
  }

  private async commitDueTasks(): Promise<void> {
    for (const runner of this.runners.values()) {
      if (!runner.commitDue(this.commitIntervalMs)) continue;
      try {
        await runner.commit();
      } catch (error) {
        await this.onTaskFailure(runner, error);
      }
    }
  }

  /**
   * A task that cannot commit is closed without flushing. If it was fenced, another instance
   * owns it now and the rebalance that says so is on its way; otherwise (a broker hiccup)
   * it is rebuilt here from its last committed state.
   */
  private async onTaskFailure(runner: TaskRunner, error: unknown): Promise<void> {
    if (this.runners.get(runner.id) !== runner) return;
    this.runners.delete(runner.id);
    const fenced = error instanceof TaskFailure && error.fenced;
    this.logger.warn({ task: runner.id, fenced, error: error instanceof Error ? error.message : String(error) }, fenced ? 'task fenced by another instance; dropping it' : 'task failed; rebuilding it from its last commit');
    const partitions = this.sourceTopics(runner.subtopology).map((topic) => ({ topic, partitions: [runner.partition] }));
    this.withConsumer((consumer) => consumer.pause(partitions));
    await runner.close(false);
    if (!fenced && !this.stopping) this.startTask(runner.subtopology, runner.partition);
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    const generation = ++this.joinGeneration;
    this.owners.invalidate();
    if (this.currentState === 'running') this.setState('rebalancing');
    const assigned = new Map<string, { subtopology: Subtopology; partition: number }>();
    for (const subtopology of this.options.topology.subtopologies) {
      const topics = this.sourceTopics(subtopology);
      const partitions = assignment[topics[0]!] ?? [];
      for (const partition of partitions) {
        if (topics.every((topic) => assignment[topic]?.includes(partition))) assigned.set(`${subtopology.id}_${partition}`, { subtopology, partition });
      }
    }
    this.latestAssignment = new Set(assigned.keys());
    for (const [id, runner] of this.runners) {
      if (assigned.has(id)) continue;
      this.runners.delete(id);
      void runner.close(true);
    }
    for (const [id, { subtopology, partition }] of assigned) {
      if (!this.runners.has(id) && !this.initializing.has(id)) this.startTask(subtopology, partition);
    }
    this.logger.info({ application: this.applicationId, tasks: [...assigned.keys()] }, 'tasks assigned');
    void this.settle(generation, [...assigned.keys()]);
  }

  private startTask(subtopology: Subtopology, partition: number): void {
    const runner = new TaskRunner(
      {
        applicationId: this.applicationId,
        topology: this.options.topology,
        kafka: this.options.kafka,
        admin: this.admin,
        logger: this.logger,
        stateDirectory: this.stateDirectory,
        guarantee: this.guarantee,
        globalStores: this.globalStores.stores,
        sharedProducer: () => this.sharedProducer!,
        commitConsumerOffsets: (offsets) => this.consumer!.commitOffsets(offsets),
        deadLetterTopic: this.deadLetterTopic,
        instanceId: this.instanceId,
        rejectNullKeys: this.options.rejectNullKeys ?? false,
      },
      subtopology,
      partition,
    );
    const topics = this.sourceTopics(subtopology).map((topic) => ({ topic, partitions: [partition] }));
    // Nothing of this task is processed until it has fenced, restored and sought.
    this.withConsumer((consumer) => consumer.pause(topics));
    const initialization = this.initializeTask(runner, topics).finally(() => {
      // A retry registers its own start under the same id: leave that one alone.
      if (this.initializing.get(runner.id) === initialization) this.initializing.delete(runner.id);
    });
    this.initializing.set(runner.id, initialization);
  }

  private get stopping(): boolean {
    return this.currentState === 'pending-shutdown' || this.currentState === 'not-running';
  }

  private async initializeTask(runner: TaskRunner, topics: Array<{ topic: string; partitions: number[] }>): Promise<void> {
    try {
      const seeks = await runner.initialize();
      if (!this.latestAssignment.has(runner.id) || this.stopping) {
        // A rebalance took the task away while it was starting.
        await runner.close(false);
        return;
      }
      this.runners.set(runner.id, runner);
      this.withConsumer((consumer) => {
        for (const seek of seeks) consumer.seek(seek);
        consumer.resume(topics);
      });
    } catch (error) {
      this.logger.error({ task: runner.id, error: error instanceof Error ? error.message : String(error) }, 'task failed to start; retrying');
      await runner.close(false);
      if (this.stopping) return;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Retry while the task is still ours, whatever rebalances happened meanwhile: a newer
      // assignment that kept the task did not start it, since this start was still in flight.
      if (this.latestAssignment.has(runner.id) && !this.runners.has(runner.id) && !this.stopping) this.startTask(runner.subtopology, runner.partition);
    }
  }

  /**
   * Pauses, resumes or seeks the consumer. While kafkajs restarts a crashed consumer (its
   * broker went away) the consumer has no group and these calls throw; the restarted consumer
   * rejoins, starts from the committed offsets (where a task seeks to anyway) and keeps none
   * of the old pauses, and it fetches again the batches of partitions without a running task,
   * which are never resolved. So skipping the call loses nothing.
   */
  private withConsumer(action: (consumer: Consumer) => void): void {
    if (!this.consumer) return;
    try {
      action(this.consumer);
    } catch (error) {
      this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'consumer is restarting; pause, resume or seek skipped');
    }
  }

  /** Waits for this generation's tasks and the owner map, then declares the instance running. */
  private async settle(generation: number, taskIds: string[]): Promise<void> {
    const expectedTopics = [...new Set(this.options.topology.subtopologies.flatMap((subtopology) => this.sourceTopics(subtopology)))];
    await Promise.all([
      ...taskIds.map((id) => this.initializing.get(id) ?? Promise.resolve()),
      this.owners.refresh(this.admin, this.applicationId, expectedTopics, () => this.joinGeneration !== generation || this.currentState === 'pending-shutdown'),
    ]);
    if (this.joinGeneration !== generation || this.currentState !== 'rebalancing') return;
    if (taskIds.every((id) => this.runners.get(id)?.state === 'running') && this.owners.isAvailable) this.setState('running');
    else setTimeout(() => void this.settle(generation, taskIds), 100);
  }

  /** Creates repartition, changelog and dead-letter topics with the partition counts the tasks need. */
  private async createInternalTopics(): Promise<void> {
    const { topology } = this.options;
    const externalTopics = [...new Set([...topology.subtopologies.flatMap((subtopology) => subtopology.sources.flatMap((source) => ('external' in source ? [source.external] : []))), ...topology.globalStores.map((global) => global.topic)])];
    const existing = new Set(await this.admin.listTopics());
    const missing = externalTopics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) throw new Error(`source topics do not exist: ${missing.join(', ')} (create them first, e.g. with npm start)`);
    const metadata = await this.admin.fetchTopicMetadata({ topics: externalTopics });
    for (const topic of metadata.topics) this.partitionCounts.set(topic.name, topic.partitions.length);
    const largest = this.options.internalTopicPartitions ?? Math.max(1, ...this.partitionCounts.values());

    const subtopologyPartitions = new Map<number, number>();
    for (const subtopology of topology.subtopologies) {
      const counts = new Set(subtopology.sources.flatMap((source) => ('external' in source ? [this.partitionCounts.get(source.external)!] : [])));
      if (counts.size > 1) throw new Error(`sub-topology ${subtopology.id} joins topics with different partition counts (${this.sourceTopics(subtopology).join(', ')}): they must be co-partitioned`);
      subtopologyPartitions.set(subtopology.id, [...counts][0] ?? largest);
    }
    const wanted = new Map<string, { partitions: number; compacted: boolean }>();
    for (const subtopology of topology.subtopologies) {
      const partitions = subtopologyPartitions.get(subtopology.id)!;
      for (const source of subtopology.sources) if ('internal' in source) wanted.set(resolveTopic(source, this.applicationId), { partitions, compacted: false });
      for (const store of subtopology.stores) {
        const definition = topology.stores.get(store)!;
        if (definition.changelog.kind === 'internal') wanted.set(changelogTopic(this.applicationId, definition), { partitions, compacted: true });
      }
    }
    wanted.set(this.deadLetterTopic, { partitions: 1, compacted: false });
    for (const [topic, { partitions }] of wanted) this.partitionCounts.set(topic, partitions);

    const toCreate = [...wanted].filter(([topic]) => !existing.has(topic));
    if (toCreate.length > 0) {
      // Instances starting together race to create the same topics: losing the race is fine.
      await this.admin
        .createTopics({
          waitForLeaders: false,
          topics: toCreate.map(([topic, { partitions, compacted }]) => ({
            topic,
            numPartitions: partitions,
            ...(this.options.replicationFactor !== undefined ? { replicationFactor: this.options.replicationFactor } : {}),
            configEntries: compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
          })),
        })
        .catch((error: unknown) => {
          if (!/already exists/i.test(String((error as { errors?: unknown[] }).errors?.map(String) ?? error))) throw error;
        });
      await waitForLeaders(this.admin, toCreate.map(([topic]) => topic));
      this.logger.info({ topics: toCreate.map(([topic]) => topic) }, 'created internal topics');
    }
    const present = [...wanted.keys()].filter((topic) => existing.has(topic));
    if (present.length > 0) {
      const current = await this.admin.fetchTopicMetadata({ topics: present });
      for (const topic of current.topics) {
        const expected = wanted.get(topic.name)!.partitions;
        if (topic.partitions.length !== expected) throw new Error(`internal topic ${topic.name} has ${topic.partitions.length} partitions, the topology needs ${expected}; delete it (and the application's state) to recreate it`);
      }
    }
  }

  private storeLocation(storeName: string): { subtopology: Subtopology; topic: string } {
    const subtopology = this.options.topology.subtopologies.find((candidate) => candidate.stores.includes(storeName));
    if (!subtopology) throw new Error(`no store named ${storeName}`);
    return { subtopology, topic: this.sourceTopics(subtopology)[0]! };
  }

  private partitionOf(storeName: string, key: unknown): { subtopology: Subtopology; topic: string; partition: number } {
    const location = this.storeLocation(storeName);
    const definition = this.options.topology.stores.get(storeName)!;
    const partitions = this.partitionCounts.get(location.topic) ?? 1;
    return { ...location, partition: partitionForKey(definition.keySerde.serialize(key), partitions) };
  }

  /** Which instance holds `key` of `storeName`: this one, another (its endpoint), or not known during a rebalance. */
  ownerOf(storeName: string, key: unknown): KeyOwner {
    const { topic, partition, subtopology } = this.partitionOf(storeName, key);
    const owner = this.owners.ownerOf(topic, partition);
    if (owner.status === 'available' && owner.endpoint === (this.options.endpoint ?? '') && this.runners.get(`${subtopology.id}_${partition}`)?.state === 'running') return { status: 'local' };
    if (owner.status === 'available' && owner.endpoint === (this.options.endpoint ?? '')) return { status: 'unavailable', reason: 'the task is still restoring' };
    return owner;
  }

  /** The local store holding `key`, if this instance owns it and it is ready. */
  localStore<S extends StateStore>(storeName: string, key: unknown): S | undefined {
    const { subtopology, partition } = this.partitionOf(storeName, key);
    const runner = this.runners.get(`${subtopology.id}_${partition}`);
    return runner?.state === 'running' ? (runner.stores.get(storeName)?.store as S | undefined) : undefined;
  }

  /** The local instances of a store (one per task of this instance), e.g. to scan all keys. */
  localStores<S extends StateStore>(storeName: string): S[] {
    return [...this.runners.values()].filter((runner) => runner.state === 'running' && runner.stores.has(storeName)).map((runner) => runner.stores.get(storeName)!.store as S);
  }

  /** A global store (every instance has all of it). */
  globalStore<S extends StateStore>(storeName: string): S {
    const store = this.globalStores.stores.get(storeName);
    if (!store) throw new Error(`no global store named ${storeName}`);
    return store as S;
  }

  /** Endpoints of every instance of the application, for fan-out queries. */
  endpoints(): string[] {
    return this.owners.endpoints();
  }

  get assignedTasks(): string[] {
    return [...this.runners.keys()].sort();
  }

  get error(): unknown {
    return this.failure;
  }

  /** Finishes the current batch, commits every task, leaves the group and closes the stores. */
  async close(): Promise<void> {
    if (this.currentState === 'not-running' || this.currentState === 'pending-shutdown') return;
    this.setState('pending-shutdown');
    if (this.commitTimer) clearInterval(this.commitTimer);
    await Promise.allSettled([...this.initializing.values()]);
    // Tasks commit while the consumer is still in the group: at-least-once commits through it.
    await Promise.all([...this.runners.values()].map((runner) => runner.close(true)));
    this.runners.clear();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.globalStores?.close();
    await this.sharedProducer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.setState('not-running');
  }
}

/** Polls until every partition of the topics has a leader (new topics take a moment). */
export async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await admin
      .fetchTopicMetadata({ topics })
      .then((metadata) => metadata.topics.length === topics.length && metadata.topics.every((topic) => topic.partitions.length > 0 && topic.partitions.every((partition) => partition.leader >= 0)))
      .catch(() => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
