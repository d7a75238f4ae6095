import type { Admin } from '@platformatic/kafka';
import type { BrokerConnections } from '../kafka/broker-connections.ts';
import type { KafkaClients } from '../kafka/clients.ts';
import { Fetcher, type FetchedPartition, type FetchedRecord } from '../kafka/fetcher.ts';
import { allPartitions, beginningOffsets, endOffsets } from '../kafka/admin.ts';
import { silentLogger, type RuntimeLogger } from './logger.ts';
import { partitionKey, type TopicPartitionKey } from '../kafka/partition-key.ts';

export interface ReadRange {
  topic: string;
  partition: number;
  /** First offset to read. */
  from: number;
  /** Offset to read up to (exclusive); omitted, the reader follows the partition for good. */
  to?: number;
}

/** Applies records of one partition, in offset order; `nextOffset` is where reading goes on. */
export type ApplyRecords = (range: ReadRange, records: FetchedRecord[], nextOffset: number) => Promise<void>;

/** What the reader asks of its fetcher (a Fetcher; the unit tests give a recording one). */
export type ReaderFetcher = Pick<Fetcher, 'assign' | 'unassign' | 'pause' | 'resume' | 'close'>;

interface Reading {
  range: ReadRange;
  apply: ApplyRecords;
  /** Applies run one after another per partition; the partition is paused while one runs. */
  chain: Promise<void>;
  /** The next offset read so far (markers included). */
  position: number;
  done?: () => void;
  fail?: (error: unknown) => void;
}

/** A read ended by `stop` before it reached its end: what it applied is consistent, but not complete. */
export class ReadStopped extends Error {
  constructor(topic: string, partition: number) {
    super(`reading ${topic}-${partition} was stopped`);
    this.name = 'ReadStopped';
  }
}

/**
 * Reads changelog and source partitions from given offsets without a consumer group, for
 * restoring state stores (up to an end) and for global tables (following the topic). One
 * reader serves every task of an instance, as Kafka Streams' restore consumer does.
 */
export class ChangelogReader {
  private fetcher: ReaderFetcher | undefined;
  private readonly readings = new Map<TopicPartitionKey, Reading>();

  constructor(
    private readonly connections: BrokerConnections,
    private readonly admin: Admin,
    private readonly logger: RuntimeLogger,
    /** Closes the connections with the reader (a reader that made its own). */
    private readonly ownsConnections = false,
  ) {}

  private get active(): ReaderFetcher {
    this.fetcher ??= this.createFetcher((fetched) => this.onFetched(fetched));
    return this.fetcher;
  }

  /** The fetcher of committed records the reader assigns its partitions to, made at the first read. */
  protected createFetcher(onFetched: (fetched: FetchedPartition) => void): ReaderFetcher {
    return new Fetcher({
      connections: this.connections,
      role: 'restore',
      readCommitted: true,
      logger: this.logger,
      onFetched,
      onOutOfRange: async (topic, partition) => (await beginningOffsets(this.admin, new Map([[topic, [partition]]]))).get(topic)?.get(partition) ?? 0,
    });
  }

  /** Reads every range to its end. Ranges already empty are done at once. */
  read(ranges: readonly ReadRange[], apply: ApplyRecords): Promise<void> {
    return Promise.all(ranges.filter((range) => range.to === undefined || range.from < range.to).map((range) => this.readOne(range, apply))).then(() => undefined);
  }

  /** Follows ranges without end (global tables); `read` of the same partitions is not allowed meanwhile. */
  follow(ranges: readonly ReadRange[], apply: ApplyRecords): void {
    for (const range of ranges) void this.readOne({ ...range, to: undefined }, apply).catch((error: unknown) => this.logger.error({ topic: range.topic, partition: range.partition, error: String(error) }, 'following a partition failed'));
  }

  private readOne(range: ReadRange, apply: ApplyRecords): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const id = partitionKey(range.topic, range.partition);
      if (this.readings.has(id)) {
        reject(new Error(`${range.topic}-${range.partition} is already being read`));
        return;
      }
      this.readings.set(id, { range, apply, chain: Promise.resolve(), position: range.from, done: resolve, fail: reject });
      this.active.assign(range.topic, range.partition, range.from);
    });
  }

  /** Stops reading a partition (a task closing before its restore ended): its read fails with ReadStopped once what was fetched is applied. */
  stop(topic: string, partition: number): void {
    const id = partitionKey(topic, partition);
    const reading = this.readings.get(id);
    if (!reading) return;
    this.readings.delete(id);
    this.fetcher?.unassign(topic, partition);
    // Once records being applied are in: the caller may close the store next.
    const stopped = () => reading.fail?.(new ReadStopped(topic, partition));
    void reading.chain.then(stopped, stopped);
  }

  private onFetched({ topic, partition, records, nextOffset }: FetchedPartition): void {
    const id = partitionKey(topic, partition);
    const reading = this.readings.get(id);
    if (!reading) return;
    const { range } = reading;
    const wanted = range.to === undefined ? records : records.filter((record) => record.offset < range.to!);
    const finished = range.to !== undefined && nextOffset >= range.to;
    const next = range.to === undefined ? nextOffset : Math.min(nextOffset, range.to);
    const advanced = next > reading.position;
    reading.position = Math.max(reading.position, next);
    if (finished) {
      this.readings.delete(id);
      this.fetcher?.unassign(topic, partition);
    } else {
      this.fetcher?.pause(topic, partition);
    }
    reading.chain = reading.chain
      .then(() => (wanted.length > 0 || advanced ? reading.apply(range, wanted, next) : undefined))
      .then(
        () => {
          if (finished) reading.done?.();
          else if (this.readings.get(id) === reading) this.fetcher?.resume(topic, partition);
        },
        (error: unknown) => {
          this.readings.delete(id);
          this.fetcher?.unassign(topic, partition);
          reading.fail?.(error);
        },
      );
  }

  async close(): Promise<void> {
    for (const reading of this.readings.values()) reading.done?.();
    this.readings.clear();
    this.fetcher?.close();
    this.fetcher = undefined;
    if (this.ownsConnections) await this.connections.close();
  }
}

/**
 * A ChangelogReader with connections of its own, for tools and services that read topics by
 * offset without a consumer group (read-topics, the connectors, tests).
 */
export class TopicReader extends ChangelogReader {
  constructor(clients: KafkaClients, logger: RuntimeLogger, name: string) {
    super(clients.connections(name, { restore: 500 }), clients.admin(), logger, true);
  }
}

/**
 * Follows every partition of `topics` from their beginning or their end (committed records
 * only), handing each partition's new records to `onRecords` in offset order, with the offset
 * read up to (transaction markers included), until the returned reader is closed. For tools and services that watch topics without a consumer group.
 */
export async function followTopics(
  clients: KafkaClients,
  topics: readonly string[],
  options: { from: 'beginning' | 'end'; name: string; logger?: RuntimeLogger },
  onRecords: (topic: string, partition: number, records: FetchedRecord[], nextOffset: number) => void | Promise<void>,
): Promise<TopicReader> {
  const admin = clients.admin();
  const partitions = await allPartitions(admin, topics);
  const missing = topics.filter((topic) => !partitions.has(topic));
  if (missing.length > 0) throw new Error(`topics do not exist: ${missing.join(', ')}`);
  const starts = options.from === 'beginning' ? await beginningOffsets(admin, partitions) : await endOffsets(admin, partitions, true);
  const reader = new TopicReader(clients, options.logger ?? silentLogger, options.name);
  reader.follow(
    [...partitions].flatMap(([topic, numbers]) => numbers.map((partition) => ({ topic, partition, from: starts.get(topic)?.get(partition) ?? 0 }))),
    async (range, records, nextOffset) => {
      await onRecords(range.topic, range.partition, records, nextOffset);
    },
  );
  return reader;
}
