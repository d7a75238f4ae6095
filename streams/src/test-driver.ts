import { MemoryLevel } from 'memory-level';
import { partitionForKey } from './partitioner.ts';
import type { OutgoingRecord, RecordHeaders } from './record.ts';
import type { Serde } from './serde.ts';
import type { LevelDatabase } from './stores/bytes-store.ts';
import { openStore, type OpenStore } from './stores/factory.ts';
import type { StateStore } from './stores/state-store.ts';
import { RecordFailure, StreamTask } from './task.ts';
import type { ResolvedTopology, Topology } from './topology.ts';
import { storeEntry } from './engine/state-manager.ts';

export interface DriverOptions {
  applicationId?: string;
  /** Partitions of every topic (records are placed by the murmur2 partitioner). Default 1. */
  partitions?: number;
  /** The driver's wall clock at the start (wall-clock punctuations follow it; `advanceWallClockTime` moves it). Default: now. */
  wallClockStartMs?: number;
  /** Dead-letter records stamped further ahead of the driver's clock (as KafkaStreams' option). Default: take any. */
  maxFutureTimestampMs?: number;
}

export interface TestRecord<K, V> {
  key: K;
  value: V;
  timestamp: number;
  headers: RecordHeaders;
  partition: number;
}

interface LoggedRecord extends OutgoingRecord {
  partition: number;
  /** The record's position in its topic partition, the same for every task reading it. */
  offset: string;
}

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  stage: RecordFailure['stage'];
  error: string;
}

/**
 * Runs a topology in-process without a broker, like Kafka Streams' TopologyTestDriver:
 * pipe records into input topics, read what the topology wrote to output topics, inspect
 * its stores. Records go through the same serdes, tasks, stores and repartition topics as
 * on a real cluster; each input record is processed to completion (including every
 * repartition hop) and committed before `pipe` returns.
 */
export class TopologyTestDriver {
  private readonly applicationId: string;
  private readonly topology: ResolvedTopology;
  private readonly partitions: number;
  private readonly tasks = new Map<string, StreamTask>();
  private readonly topicLogs = new Map<string, LoggedRecord[]>();
  private readonly readPositions = new Map<string, number>();
  private readonly databases: LevelDatabase[] = [];
  private readonly globalStores = new Map<string, OpenStore>();
  private readonly globalTopics = new Map<string, OpenStore>();
  private readonly offsets = new Map<string, number>();
  readonly deadLetters: DeadLetter[] = [];
  private wallClock: number;
  private readonly maxFutureTimestampMs: number;

  private constructor(topology: Topology, options: DriverOptions) {
    this.applicationId = options.applicationId ?? 'test-app';
    this.topology = topology.resolve(this.applicationId);
    this.partitions = options.partitions ?? 1;
    this.wallClock = options.wallClockStartMs ?? Date.now();
    this.maxFutureTimestampMs = options.maxFutureTimestampMs ?? Infinity;
  }

  static async create(topology: Topology, options: DriverOptions = {}): Promise<TopologyTestDriver> {
    const driver = new TopologyTestDriver(topology, options);
    await driver.start();
    return driver;
  }

  private async open(): Promise<LevelDatabase> {
    const database = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as unknown as LevelDatabase;
    await database.open();
    this.databases.push(database);
    return database;
  }

  private async start(): Promise<void> {
    const globalDatabase = await this.open();
    for (const global of this.topology.globalStores) {
      const store = openStore(globalDatabase, global.store);
      this.globalStores.set(global.store.name, store);
      this.globalTopics.set(global.topic, store);
    }
    const globalStoreViews = new Map<string, StateStore>([...this.globalStores].map(([name, open]) => [name, open.store]));
    for (const subtopology of this.topology.subtopologies) {
      for (let partition = 0; partition < this.partitions; partition += 1) {
        const database = await this.open();
        const stores = new Map(subtopology.stores.map((name) => [name, openStore(database, this.topology.stores.get(name)!)]));
        const task = new StreamTask(this.topology, subtopology, partition, stores, globalStoreViews);
        task.clock = () => this.wallClock;
        task.maxFutureTimestampMs = this.maxFutureTimestampMs;
        await task.init();
        this.tasks.set(task.id, task);
      }
    }
  }

  /** The real name of an internal topic, e.g. `driver.internalTopic('by-product-repartition')`. */
  internalTopic(suffix: string): string {
    return `${this.applicationId}-${suffix}`;
  }

  inputTopic<K, V>(topic: string, serdes: { key: Serde<K>; value: Serde<V> }) {
    return {
      pipe: (key: K | null, value: V | null, timestamp: number, headers: RecordHeaders = {}) => this.pipe(topic, key, value, timestamp, headers, serdes),
      /** Pipes bytes as they are, e.g. a poison record. */
      pipeRaw: (key: Buffer | null, value: Buffer | null, timestamp: number, headers: RecordHeaders = {}) => this.pipeBytes(topic, key, value, timestamp, headers),
    };
  }

  outputTopic<K, V>(topic: string, serdes: { key: Serde<K>; value: Serde<V> }) {
    return {
      /** Records written since the last read, decoded. */
      readRecords: async (): Promise<Array<TestRecord<K, V | null>>> => {
        const log = this.topicLogs.get(topic) ?? [];
        const start = this.readPositions.get(topic) ?? 0;
        this.readPositions.set(topic, log.length);
        const decoded: Array<TestRecord<K, V | null>> = [];
        for (const record of log.slice(start)) {
          decoded.push({
            key: (record.key === null ? null : await serdes.key.deserialize(record.key)) as K,
            value: record.value === null ? null : await serdes.value.deserialize(record.value),
            timestamp: record.timestamp,
            headers: record.headers,
            partition: record.partition,
          });
        }
        return decoded;
      },
      readValues: async (): Promise<Array<V | null>> => (await this.outputTopic(topic, serdes).readRecords()).map((record) => record.value),
      readKeyValues: async (): Promise<Array<[K, V | null]>> => (await this.outputTopic(topic, serdes).readRecords()).map((record) => [record.key, record.value]),
    };
  }

  /** Every record written to a topic so far, as bytes (for byte-format assertions). */
  rawRecords(topic: string): readonly LoggedRecord[] {
    return this.topicLogs.get(topic) ?? [];
  }

  private async pipe<K, V>(topic: string, key: K | null, value: V | null, timestamp: number, headers: RecordHeaders, serdes: { key: Serde<K>; value: Serde<V> }): Promise<void> {
    const keyBytes = key === null ? null : await serdes.key.serialize(key);
    const valueBytes = value === null ? null : await serdes.value.serialize(value);
    await this.pipeBytes(topic, keyBytes, valueBytes, timestamp, headers);
  }

  /** Moves the driver's wall clock and runs the wall-clock punctuations that come due, with everything they write. */
  async advanceWallClockTime(ms: number): Promise<void> {
    this.wallClock += ms;
    const queue: LoggedRecord[] = [];
    for (const task of this.tasks.values()) await this.punctuate(task, queue);
    await this.deliver(queue);
  }

  private async punctuate(task: StreamTask, queue: LoggedRecord[]): Promise<void> {
    try {
      await task.punctuate(this.wallClock);
    } catch (error) {
      if (!(error instanceof RecordFailure)) throw error;
      this.deadLetters.push({ topic: '', partition: task.partition, offset: '', stage: error.stage, error: error.message });
    }
    for (const output of task.drainOutputs()) queue.push(this.append(output));
    await this.commit(task);
  }

  private async pipeBytes(topic: string, key: Buffer | null, value: Buffer | null, timestamp: number, headers: RecordHeaders): Promise<void> {
    await this.deliver([this.append({ topic, key, value, timestamp, headers })]);
  }

  /** Hands each record to the tasks reading its topic and partition, then what they write, to the end; stream-time punctuations run after each record. */
  private async deliver(queue: LoggedRecord[]): Promise<void> {
    while (queue.length > 0) {
      const record = queue.shift()!;
      const global = this.globalTopics.get(record.topic);
      if (global) await this.updateGlobal(global, record);
      for (const task of this.tasks.values()) {
        if (task.partition !== record.partition || !task.sourceTopics.includes(record.topic)) continue;
        const { offset } = record;
        try {
          await task.process(record.topic, { key: record.key, value: record.value, timestamp: record.timestamp, headers: record.headers, offset });
        } catch (error) {
          if (!(error instanceof RecordFailure)) throw error;
          this.deadLetters.push({ topic: record.topic, partition: record.partition, offset, stage: error.stage, error: error.message });
        }
        for (const output of task.drainOutputs()) queue.push(this.append(output));
        await this.commit(task);
        await this.punctuate(task, queue);
      }
    }
  }

  private nextOffset(topicPartition: string): number {
    const offset = this.offsets.get(topicPartition) ?? 0;
    this.offsets.set(topicPartition, offset + 1);
    return offset;
  }

  private append(record: OutgoingRecord): LoggedRecord {
    const partition = record.partition ?? (record.key === null ? 0 : partitionForKey(record.key, this.partitions));
    const logged = { ...record, partition, offset: String(this.nextOffset(`${record.topic}/${partition}`)) };
    this.topicLogs.set(record.topic, [...(this.topicLogs.get(record.topic) ?? []), logged]);
    return logged;
  }

  private async updateGlobal(global: OpenStore, record: LoggedRecord): Promise<void> {
    const source = this.topology.globalStores.find((candidate) => candidate.store.name === global.definition.name)!;
    const entry = await storeEntry(global.definition, record, source.serdes);
    if (!entry) return;
    global.bytes.put(...entry);
    await global.bytes.sublevel.db.batch(global.bytes.flushOperations());
    global.bytes.committed();
  }

  private async commit(task: StreamTask): Promise<void> {
    for (const { bytes } of task.stores.values()) {
      if (!bytes.hasChanges) continue;
      await bytes.sublevel.db.batch(bytes.flushOperations());
      bytes.committed();
    }
  }

  /** A store of the topology, read across all partitions' tasks (or a global store). */
  store<S extends StateStore>(name: string, partition?: number): S {
    const global = this.globalStores.get(name);
    if (global) return global.store as S;
    const found = [...this.tasks.values()].filter((task) => task.stores.has(name) && (partition === undefined || task.partition === partition));
    if (found.length === 0) throw new Error(`no store named ${name}`);
    if (found.length === 1 || partition !== undefined) return found[0]!.stores.get(name)!.store as S;
    throw new Error(`store ${name} exists in ${found.length} partitions: pass the partition`);
  }

  /** The partition a key of a topic lands in, for `store(name, partition)`. */
  partitionOf(key: Buffer): number {
    return partitionForKey(key, this.partitions);
  }

  /** Topic names the topology reads, resolved. */
  sourceTopics(): string[] {
    return this.topology.sourceTopics;
  }

  async close(): Promise<void> {
    for (const task of this.tasks.values()) await task.close();
    for (const database of this.databases) await database.close();
  }
}
