import { FetchIsolationLevels, IS_CONTROL, IS_TRANSACTIONAL, protocolErrorsCodesById, type RecordsBatch } from '@platformatic/kafka';
import type { RecordHeaders } from '../record.ts';
import type { RuntimeLogger } from '../engine/logger.ts';
import { isStaleLeader, type BrokerConnections, type ConnectionRole, type TopicMetadata } from './broker-connections.ts';
import { backoffDelay, describeError, sleep } from './retry.ts';
import { partitionKey, type TopicPartitionKey } from './partition-key.ts';
import { fetchVersions, protocolError } from './protocol.ts';

/** A record as read from a partition. */
export interface FetchedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}

/** What one fetch brought for one partition: its records (maybe none) and where the partition ends. */
export interface FetchedPartition {
  topic: string;
  partition: number;
  records: FetchedRecord[];
  /** The next offset to fetch (past any transaction markers that were read). */
  nextOffset: number;
  /** The partition's end as of this fetch: the last stable offset when reading committed, else the high watermark. */
  endOffset: number;
  /** The high watermark as of this fetch: reading committed, records between the end and it belong to open transactions. */
  highWatermark: number;
}

export interface FetcherOptions {
  connections: BrokerConnections;
  /** The connections it fetches on: a long poll holds its connection, which must not delay sends or heartbeats. */
  role: ConnectionRole;
  readCommitted: boolean;
  onFetched: (fetched: FetchedPartition) => void;
  logger: RuntimeLogger;
  /** How long the broker may hold a fetch with no data (default 500 ms, as Java's fetch.max.wait.ms). */
  maxWaitMs?: number;
  maxBytesPerPartition?: number;
  maxBytes?: number;
  /** Where to restart a partition whose position is no longer in the log (default: its beginning). */
  onOutOfRange?: (topic: string, partition: number) => Promise<number>;
}

interface PartitionState {
  topic: string;
  partition: number;
  position: number;
  paused: boolean;
  /** Bumped by every seek: an answer to a request sent before it is stale. */
  epoch: number;
}

/**
 * Fetches records of assigned partitions from their leaders, one request in flight per broker,
 * from positions the caller controls (assign, seek, pause, resume), as Kafka's Java consumer
 * does under `poll`. It reads committed records only when asked to, and reports for every
 * partition in every answer where the partition ends, so a caller can tell "no record yet"
 * from "nothing more to read" (the timestamp synchronization of tasks needs that).
 */
export class Fetcher {
  private readonly partitions = new Map<TopicPartitionKey, PartitionState>();
  /** Per leader, when its request in flight was sent. */
  private readonly inFlight = new Map<number, number>();
  /** When the last request was sent or answered, or a retry ended: the stall watch's measure. */
  private lastProgressAt = Date.now();
  private retriesPending = 0;
  /** Aborted by `close`: a wait before retrying ends at once. */
  private readonly closing = new AbortController();
  private failures = 0;
  private readonly maxWaitMs: number;

  constructor(private readonly options: FetcherOptions) {
    this.maxWaitMs = options.maxWaitMs ?? 500;
  }

  assign(topic: string, partition: number, offset: number): void {
    const existing = this.partitions.get(partitionKey(topic, partition));
    if (existing) {
      this.seek(topic, partition, offset);
      existing.paused = false;
    } else {
      this.partitions.set(partitionKey(topic, partition), { topic, partition, position: offset, paused: false, epoch: 0 });
    }
    this.wake();
  }

  unassign(topic: string, partition: number): void {
    this.partitions.delete(partitionKey(topic, partition));
  }

  /** Moves the position; records of requests sent before are dropped. */
  seek(topic: string, partition: number, offset: number): void {
    const state = this.partitions.get(partitionKey(topic, partition));
    if (!state) return;
    state.position = offset;
    state.epoch += 1;
    this.wake();
  }

  pause(topic: string, partition: number): void {
    const state = this.partitions.get(partitionKey(topic, partition));
    if (state) state.paused = true;
  }

  resume(topic: string, partition: number): void {
    const state = this.partitions.get(partitionKey(topic, partition));
    if (!state || !state.paused) return;
    state.paused = false;
    this.wake();
  }

  /** Sends a fetch to every leader that has unpaused partitions and no request in flight. */
  wake(): void {
    if (this.closed) return;
    const wanted = [...this.partitions.values()].filter((state) => !state.paused);
    if (wanted.length === 0) return;
    const topics = [...new Set(wanted.map((state) => state.topic))];
    this.options.connections
      .metadata(topics)
      .then((metadata) => {
        const byLeader = new Map<number, PartitionState[]>();
        for (const state of wanted) {
          const leader = metadata.get(state.topic)?.partitions[state.partition]?.leader;
          if (leader === undefined || leader < 0) {
            this.options.connections.forgetLeaders([state.topic]);
            void this.retryLater(new Error(`${state.topic}-${state.partition} has no leader`), 'metadata');
            continue;
          }
          if (this.inFlight.has(leader)) continue;
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), state]);
        }
        for (const [leader, states] of byLeader) void this.fetchFrom(leader, states, metadata);
      })
      .catch((error: unknown) => this.retryLater(error, 'metadata'));
  }

  private async fetchFrom(leader: number, states: PartitionState[], metadata: ReadonlyMap<string, TopicMetadata>): Promise<void> {
    if (this.closed || this.inFlight.has(leader)) return;
    this.inFlight.set(leader, Date.now());
    this.lastProgressAt = Date.now();
    const requested = new Map(states.map((state) => [partitionKey(state.topic, state.partition), { position: state.position, epoch: state.epoch }]));
    const byTopic = new Map<string, { topicId: string; partitions: Array<{ partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }> }>();
    const topicNames = new Map<string, string>();
    for (const state of states) {
      const topic = metadata.get(state.topic)!;
      topicNames.set(topic.id, state.topic);
      const entry = byTopic.get(state.topic) ?? { topicId: topic.id, partitions: [] };
      entry.partitions.push({ partition: state.partition, fetchOffset: BigInt(state.position), partitionMaxBytes: this.options.maxBytesPerPartition ?? 1_048_576, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
      byTopic.set(state.topic, entry);
    }
    let response;
    try {
      const api = await this.options.connections.choose(fetchVersions);
      const isolation = this.options.readCommitted ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED;
      response = await this.options.connections.request(this.options.role, leader, api, this.maxWaitMs, 1, this.options.maxBytes ?? 8_388_608, isolation, 0, -1, [...byTopic.values()], [], '');
    } catch (error) {
      this.inFlight.delete(leader);
      this.options.connections.forgetLeaders([...byTopic.keys()]);
      await this.retryLater(error, 'fetch');
      return;
    }
    this.inFlight.delete(leader);
    this.lastProgressAt = Date.now();
    if (this.closed) return;
    let failure: unknown;
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const answer of topicResponse.partitions) {
        const state = this.partitions.get(partitionKey(topic, answer.partitionIndex));
        const asked = requested.get(partitionKey(topic, answer.partitionIndex));
        // Unassigned or sought while the request was out: this answer is about an old position.
        if (!state || !asked || state.epoch !== asked.epoch || state.position !== asked.position) continue;
        if (answer.errorCode !== 0) {
          failure = protocolError(answer.errorCode);
          await this.onPartitionError(state, answer.errorCode);
          continue;
        }
        const { records, nextOffset } = decodeBatches(answer.records ?? [], asked.position, this.options.readCommitted ? (answer.abortedTransactions ?? []) : []);
        state.position = nextOffset;
        const highWatermark = Number(answer.highWatermark);
        const endOffset = this.options.readCommitted ? Number(answer.lastStableOffset) : highWatermark;
        this.options.onFetched({ topic, partition: answer.partitionIndex, records, nextOffset, endOffset, highWatermark });
      }
    }
    if (failure === undefined) {
      this.failures = 0;
      this.wake();
    } else {
      await this.retryLater(failure, 'fetch');
    }
  }

  private async onPartitionError(state: PartitionState, errorCode: number): Promise<void> {
    const name = protocolErrorsCodesById[errorCode as keyof typeof protocolErrorsCodesById];
    if (name === 'OFFSET_OUT_OF_RANGE' && this.options.onOutOfRange) {
      const restart = await this.options.onOutOfRange(state.topic, state.partition).catch(() => undefined);
      if (restart === undefined) return;
      this.options.logger.warn({ topic: state.topic, partition: state.partition, position: state.position, restart }, 'fetch position is out of range; restarting the partition');
      this.seek(state.topic, state.partition, restart);
      return;
    }
    if (isStaleLeader(protocolError(errorCode))) this.options.connections.forgetLeaders([state.topic]);
  }

  private async retryLater(error: unknown, what: string): Promise<void> {
    if (this.closed) return;
    this.failures += 1;
    const delay = backoffDelay(this.failures, { initialMs: 100, maxMs: 2_000 });
    // One failure is routine (a leader moved); a run of them is worth telling.
    const log = this.failures >= 5 ? this.options.logger.warn : this.options.logger.debug;
    log.call(this.options.logger, { what, attempt: this.failures, delayMs: delay, error: describeError(error) }, 'fetch failed; retrying');
    this.retriesPending += 1;
    try {
      await sleep(delay, this.closing.signal);
    } finally {
      this.retriesPending -= 1;
      this.lastProgressAt = Date.now();
    }
    this.wake();
  }

  /**
   * Undefined while the fetcher is fetching (or has nothing to fetch); else since when a request
   * has been out, or since when partitions have waited with no request out and no retry pending
   * (nothing will send one: a defect, which `wake` repairs).
   */
  stall(now = Date.now()): { since: number; details: Record<string, unknown> } | undefined {
    if (this.inFlight.size > 0) {
      const [leader, sentAt] = [...this.inFlight].reduce((oldest, entry) => (entry[1] < oldest[1] ? entry : oldest));
      return now - sentAt > this.maxWaitMs ? { since: sentAt + this.maxWaitMs, details: { waitingForLeader: leader } } : undefined;
    }
    const waiting = [...this.partitions.values()].filter((state) => !state.paused);
    if (this.retriesPending > 0 || waiting.length === 0) return undefined;
    return { since: this.lastProgressAt, details: { unfetched: waiting.map((state) => `${state.topic}-${state.partition}@${state.position}`) } };
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** Stops fetching (the connections belong to the caller). */
  close(): void {
    this.closing.abort();
    this.partitions.clear();
  }
}

/**
 * The records of a fetch answer at or after `from`, without transaction markers, and the offset
 * after the last batch read. Reading committed (`aborted`: the answer's aborted transactions),
 * a transactional batch is dropped while its producer has an aborted transaction that began at
 * or before the batch and whose ABORT marker has not been passed yet (the Java consumer's rule):
 * a producer may abort several transactions within one answer.
 */
export function decodeBatches(batches: readonly RecordsBatch[], from: number, aborted: ReadonlyArray<{ producerId: bigint; firstOffset: bigint }> = []): { records: FetchedRecord[]; nextOffset: number } {
  const records: FetchedRecord[] = [];
  const abortedByStart = [...aborted].sort((left, right) => (left.firstOffset < right.firstOffset ? -1 : left.firstOffset > right.firstOffset ? 1 : 0));
  const abortedProducers = new Set<bigint>();
  let nextAborted = 0;
  let nextOffset = from;
  for (const batch of batches) {
    const firstOffset = Number(batch.firstOffset);
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    nextOffset = Math.max(nextOffset, firstOffset + batch.lastOffsetDelta + 1);
    while (nextAborted < abortedByStart.length && abortedByStart[nextAborted]!.firstOffset <= lastOffset) abortedProducers.add(abortedByStart[nextAborted++]!.producerId);
    if (batch.attributes & IS_CONTROL) {
      // Control type 0 is ABORT: the producer's aborted records end here.
      if (batch.records[0]?.key?.readInt16BE(2) === 0) abortedProducers.delete(batch.producerId);
      continue;
    }
    if (batch.attributes & IS_TRANSACTIONAL && abortedProducers.has(batch.producerId)) continue;
    const firstTimestamp = Number(batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = firstOffset + record.offsetDelta;
      // A compressed batch starts before the requested offset: skip what was read already.
      if (offset < from) continue;
      records.push({ offset, timestamp: firstTimestamp + Number(record.timestampDelta), key: record.key, value: record.value, headers: decodeHeaders(record.headers) });
    }
  }
  return { records, nextOffset };
}

function decodeHeaders(headers: ReadonlyArray<[Buffer | null, Buffer | null]>): RecordHeaders {
  const decoded: RecordHeaders = {};
  for (const [name, value] of headers) {
    if (name === null) continue;
    decoded[name.toString()] = value ?? Buffer.alloc(0);
  }
  return decoded;
}
