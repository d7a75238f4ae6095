import type { Cancellable, Processor, ProcessorContext, PunctuationType } from './processor.ts';
import type { OutgoingRecord, RawRecord, StreamRecord } from './record.ts';
import type { OpenStore } from './stores/factory.ts';
import type { StateStore } from './stores/state-store.ts';
import { LevelKeyValueStore, type ReadOnlyKeyValueStore } from './stores/key-value-store.ts';
import type { ResolvedTopology, SinkNode, SourceNode, Subtopology } from './topology.ts';

export type FailureStage = 'timestamp' | 'deserialization' | 'processing' | 'punctuation';

interface Punctuator {
  node: string;
  intervalMs: number;
  type: PunctuationType;
  callback: (timestamp: number) => void | Promise<void>;
  /** When it runs next (stream time or wall clock); undefined for stream time until the task has seen a record. */
  next: number | undefined;
  cancelled: boolean;
}

/** A record the task could not handle; the engine sends it to the dead-letter topic. */
export class RecordFailure extends Error {
  constructor(
    readonly stage: FailureStage,
    override readonly cause: unknown,
  ) {
    super(`${stage} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'RecordFailure';
  }
}

/** A task's id, `<sub-topology>_<partition>` as Kafka Streams writes it, made only by `taskId`. */
export type TaskId = string & { readonly kind: 'TaskId' };

export function taskId(subtopology: number, partition: number): TaskId {
  return `${subtopology}_${partition}` as TaskId;
}

/**
 * One sub-topology working on one partition of its input topics: it owns the processors and
 * the stores of that partition and turns each input record into output records, which it
 * buffers until the engine (or the test driver) takes them.
 *
 * A record is all-or-nothing: when deserialization or a processor fails, its store changes
 * and outputs are rolled back before the failure is reported.
 */
export class StreamTask {
  readonly id: TaskId;
  private readonly processors = new Map<string, Processor<unknown, unknown, unknown, unknown>>();
  private readonly sources = new Map<string, SourceNode<string>>();
  private readonly outputs: OutgoingRecord[] = [];
  private current: { topic: string; partition: number; offset: string } | undefined;
  private time = -1;
  private readonly punctuators: Punctuator[] = [];
  /** The timestamp of the record (or punctuation) being processed: what store retentions count from. */
  private recordTimestamp = -1;
  /** When each store with a retention was last swept for expired entries. */
  private readonly lastExpiry = new Map<LevelKeyValueStore<unknown, unknown>, number>();
  /** Told by the engine: whether the task's inputs are read to their end (see ProcessorContext.inputsCaughtUp). */
  inputsCaughtUp: () => boolean = () => true;
  /** The wall clock of wall-clock punctuations (the test driver's own in tests). */
  clock: () => number = Date.now;
  /**
   * Records stamped further ahead of the wall clock are refused (dead-lettered): one record from
   * a producer whose clock is off by a year would move stream time a year ahead for good, and
   * close every window and session of the task.
   */
  maxFutureTimestampMs = Infinity;

  constructor(
    private readonly topology: ResolvedTopology,
    readonly subtopology: Subtopology<string>,
    readonly partition: number,
    readonly stores: ReadonlyMap<string, OpenStore>,
    private readonly globalStores: ReadonlyMap<string, StateStore>,
    /** Dead-letter records without a key (for applications whose every topic is keyed). */
    private readonly rejectNullKeys = false,
  ) {
    this.id = taskId(subtopology.id, partition);
    for (const name of subtopology.nodes) {
      const node = topology.node(name);
      if (node.kind === 'source') for (const topic of node.topics) this.sources.set(topic, node);
    }
  }

  get applicationId(): string {
    return this.topology.applicationId;
  }

  /** The topics this task reads. */
  get sourceTopics(): string[] {
    return [...this.sources.keys()];
  }

  get streamTime(): number {
    return this.time;
  }

  async init(): Promise<void> {
    for (const { store } of this.stores.values()) {
      if (!(store instanceof LevelKeyValueStore) || store.retentionMs === undefined) continue;
      store.recordTime = () => this.recordTimestamp;
      this.lastExpiry.set(store, -Infinity);
    }
    for (const name of this.subtopology.nodes) {
      const node = this.topology.node(name);
      if (node.kind !== 'processor') continue;
      const processor = node.supplier();
      this.processors.set(name, processor);
      await processor.init?.(this.contextFor(name, node.children));
    }
  }

  private contextFor(nodeName: string, children: readonly string[]): ProcessorContext<unknown, unknown> {
    const current = () => this.current;
    const time = () => this.time;
    const caughtUp = () => this.inputsCaughtUp();
    return {
      applicationId: this.applicationId,
      taskId: this.id,
      partition: this.partition,
      get source() {
        return current();
      },
      get streamTime() {
        return time();
      },
      get inputsCaughtUp() {
        return caughtUp();
      },
      forward: (record) => this.forwardTo(children, record),
      schedule: (intervalMs, type, callback) => this.schedule(nodeName, intervalMs, type, callback),
      currentSystemTimeMs: () => this.clock(),
      getStateStore: <S extends StateStore>(storeName: string): S => {
        const node = this.topology.node(nodeName);
        const allowed = node.kind === 'processor' && node.stores.includes(storeName);
        const store = this.stores.get(storeName)?.store ?? readOnly(this.globalStores.get(storeName));
        if (!allowed || !store) throw new Error(`processor ${nodeName} has no access to a store named ${storeName}`);
        return store as S;
      },
    };
  }

  private schedule(node: string, intervalMs: number, type: PunctuationType, callback: (timestamp: number) => void | Promise<void>): Cancellable {
    if (!(intervalMs > 0)) throw new Error(`a punctuation interval must be positive, not ${intervalMs}`);
    const punctuator: Punctuator = { node, intervalMs, type, callback, next: type === 'wall-clock' ? this.clock() + intervalMs : undefined, cancelled: false };
    this.punctuators.push(punctuator);
    return {
      cancel: () => {
        punctuator.cancelled = true;
        this.punctuators.splice(this.punctuators.indexOf(punctuator), 1);
      },
    };
  }

  /**
   * Runs the punctuations that are due: wall-clock ones whose time `now` has reached, stream-time
   * ones whose time the task's stream time has reached. Each is all-or-nothing, like a record.
   * Throws RecordFailure (stage 'punctuation') after rolling back one that failed.
   */
  async punctuate(now: number): Promise<number> {
    let ran = 0;
    for (const [store, last] of this.lastExpiry) {
      if (now - last < Math.max(1_000, store.retentionMs! / 10)) continue;
      this.lastExpiry.set(store, now);
      const { bytes } = this.stores.get(store.name)!;
      bytes.beginRecord();
      await store.expire(now);
      bytes.endRecord();
    }
    for (const punctuator of [...this.punctuators]) {
      if (punctuator.cancelled) continue;
      const clock = punctuator.type === 'wall-clock' ? now : this.time;
      if (punctuator.type === 'stream-time' && punctuator.next === undefined) {
        if (this.time < 0) continue;
        punctuator.next = this.time + punctuator.intervalMs;
        continue;
      }
      if (clock < punctuator.next!) continue;
      // Missed intervals are not made up for: the next one is a whole interval after this one.
      punctuator.next = clock + punctuator.intervalMs;
      const outputMark = this.outputs.length;
      for (const { bytes } of this.stores.values()) bytes.beginRecord();
      this.recordTimestamp = clock;
      try {
        await punctuator.callback(clock);
        for (const { bytes } of this.stores.values()) bytes.endRecord();
        ran += 1;
      } catch (error) {
        for (const { bytes } of this.stores.values()) bytes.rollbackRecord();
        this.outputs.length = outputMark;
        throw new RecordFailure('punctuation', error);
      }
    }
    return ran;
  }

  /** When the next wall-clock punctuation is due (undefined: none scheduled). */
  get nextWallClockPunctuation(): number | undefined {
    let earliest: number | undefined;
    for (const punctuator of this.punctuators) if (punctuator.type === 'wall-clock' && (earliest === undefined || punctuator.next! < earliest)) earliest = punctuator.next;
    return earliest;
  }

  private async forwardTo(children: readonly string[], record: StreamRecord<unknown, unknown>): Promise<void> {
    for (const child of children) {
      const node = this.topology.node(child);
      if (node.kind === 'sink') await this.sink(node, record);
      else if (node.kind === 'processor') await this.processors.get(child)!.process(record);
    }
  }

  private async sink(node: SinkNode<string>, record: StreamRecord<unknown, unknown>): Promise<void> {
    const topic = typeof node.topic === 'function' ? node.topic(record.key, record.value) : node.topic;
    this.outputs.push({
      topic,
      key: record.key === null || record.key === undefined ? null : await node.serdes.key.serialize(record.key),
      value: record.value === null || record.value === undefined ? null : await node.serdes.value.serialize(record.value),
      timestamp: record.timestamp,
      headers: record.headers,
    });
  }

  /** Runs one input record through the sub-topology. Throws RecordFailure after rolling back. */
  async process(topic: string, raw: RawRecord): Promise<void> {
    const source = this.sources.get(topic);
    if (!source) throw new Error(`task ${this.id} does not read ${topic}`);
    const outputMark = this.outputs.length;
    for (const { bytes } of this.stores.values()) bytes.beginRecord();
    let stage: FailureStage = 'timestamp';
    const timeBefore = this.time;
    try {
      const ahead = raw.timestamp - this.clock();
      if (ahead > this.maxFutureTimestampMs) throw new Error(`the record's timestamp ${new Date(raw.timestamp).toISOString()} is ${Math.round(ahead / 1_000)} s ahead of the clock (at most ${Math.round(this.maxFutureTimestampMs / 1_000)} s are taken)`);
      stage = 'deserialization';
      if (raw.key === null && this.rejectNullKeys) throw new Error('a record without a key: every topic of this application is keyed');
      const key = raw.key === null ? null : await source.serdes.key.deserialize(raw.key);
      const value = raw.value === null ? null : await source.serdes.value.deserialize(raw.value);
      stage = 'processing';
      this.current = { topic, partition: this.partition, offset: raw.offset };
      this.recordTimestamp = raw.timestamp;
      this.time = Math.max(this.time, raw.timestamp);
      await this.forwardTo(source.children, { key, value, timestamp: raw.timestamp, headers: raw.headers });
      for (const { bytes } of this.stores.values()) bytes.endRecord();
    } catch (error) {
      for (const { bytes } of this.stores.values()) bytes.rollbackRecord();
      this.outputs.length = outputMark;
      // A poison record with a far-future timestamp must not close windows either.
      this.time = timeBefore;
      throw new RecordFailure(stage, error);
    } finally {
      this.current = undefined;
    }
  }

  /** Adds a record to the outputs directly (the engine's dead-letter records). */
  emit(record: OutgoingRecord): void {
    this.outputs.push(record);
  }

  /** Takes the records produced since the last call. */
  drainOutputs(): OutgoingRecord[] {
    return this.outputs.splice(0, this.outputs.length);
  }

  get hasPendingWork(): boolean {
    return this.outputs.length > 0 || [...this.stores.values()].some(({ bytes }) => bytes.hasChanges);
  }

  async close(): Promise<void> {
    for (const processor of this.processors.values()) await processor.close?.();
    this.processors.clear();
    this.punctuators.length = 0;
  }
}

/**
 * Tasks only read global stores: their contents come from the global topic, and a write by
 * one task would be neither committed nor rolled back with it.
 */
function readOnly(store: StateStore | undefined): StateStore | undefined {
  if (!store) return undefined;
  const source = store as ReadOnlyKeyValueStore<unknown, unknown>;
  const view: ReadOnlyKeyValueStore<unknown, unknown> = { name: store.name, get: (key) => source.get(key), all: () => source.all(), range: (from, to) => source.range(from, to) };
  return view;
}
