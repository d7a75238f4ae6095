import type { BrokerConnections } from '../kafka/broker-connections.ts';
import type { GroupGeneration } from '../kafka/group-member.ts';
import { partitionKey, type TopicPartitionKey } from '../kafka/partition-key.ts';
import { isProducerFenced, RecordProducer, type RecordProducerOptions } from '../kafka/record-producer.ts';
import { describeError } from '../kafka/retry.ts';
import { encodeHeaders, type OutgoingRecord } from '../record.ts';
import type { RuntimeLogger } from './logger.ts';

export type ProcessingGuarantee = 'exactly-once' | 'at-least-once';

export type { GroupGeneration };

/** The offset after the last record the collector wrote to each partition it was given explicitly (changelogs), by `partitionKey`. */
export type WrittenOffsets = ReadonlyMap<TopicPartitionKey, number>;

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read. */
  offset: number;
}

/** Thrown by `flush`/`commit` once a send failed: the transaction must be aborted and the tasks revived. */
export class ProducerFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(`sending records failed: ${describeError(cause)}`);
    this.name = 'ProducerFailure';
  }
}

/** What the collector asks of its producer (a RecordProducer; the unit tests give a recording one). */
export type CollectorProducer = Pick<RecordProducer, 'init' | 'send' | 'sendOffsets' | 'commit' | 'abort' | 'hasOpenTransaction'>;

export interface RecordCollectorOptions {
  guarantee: ProcessingGuarantee;
  transactionalId: string;
  transactionTimeoutMs?: number;
  logger: RuntimeLogger;
  /** Makes the producer; by default a RecordProducer on the instance's broker connections. */
  createProducer?: (options: RecordProducerOptions) => CollectorProducer;
}

const maxRecordsPerSend = 2_000;
/** Queued records that start a send without waiting for the end of the slice. */
const batchRecords = 500;
/** Below the broker's default message.max.bytes (1 MiB per record batch), with room for headers. */
const maxBytesPerSend = 900_000;

/**
 * The instance's one producer and its record collector (Kafka Streams' StreamsProducer and
 * RecordCollector). Tasks hand it records as they produce them; it sends them in processing
 * order, in batches of whatever piled up while the previous send was in flight, so the send
 * of one batch overlaps the processing of the next records.
 *
 * Exactly-once: every record goes into the instance's open transaction, begun with the first
 * record after a commit; `commit` adds the consumed offsets fenced by the group generation
 * (KIP-447) and commits, so all tasks' outputs, changelog records and offsets become visible
 * together. The transactional id is stable per instance, so a restarted instance fences what
 * its crashed predecessor left open. At-least-once: an idempotent producer, records sent as
 * they come, offsets committed through the group after the sends were acknowledged.
 */
export class RecordCollector {
  private producer: CollectorProducer | undefined;
  private queue: OutgoingRecord[] = [];
  private sending: Promise<void> | undefined;
  private failure: unknown;
  /** Next offset after the last acknowledged record per topic-partition, in the current transaction (or since the last commit). */
  private written = new Map<TopicPartitionKey, number>();

  constructor(
    private readonly connections: BrokerConnections,
    private readonly options: RecordCollectorOptions,
  ) {}

  private get exactlyOnce(): boolean {
    return this.options.guarantee === 'exactly-once';
  }

  /** Creates the producer; exactly-once, this fences an earlier producer of this instance and aborts what it left open. */
  async init(): Promise<void> {
    const { transactionalId, transactionTimeoutMs, logger, createProducer = (options) => new RecordProducer(this.connections, options) } = this.options;
    const producer = createProducer({
      logger,
      ...(this.exactlyOnce ? { transactionalId, transactionTimeoutMs: transactionTimeoutMs ?? 10_000 } : {}),
      // A send that keeps failing for longer than the transaction lives cannot commit anyway.
      ...(this.exactlyOnce ? { deliveryTimeoutMs: transactionTimeoutMs ?? 10_000 } : {}),
    });
    await producer.init();
    this.producer = producer;
  }

  /**
   * Queues a record. Records leave in batches: when a batch's worth has piled up, at a commit,
   * and at-least-once when the instance's loop ends a processing slice (`sliceEnded`). A send
   * per record would cost a request (and a system call) each.
   */
  send(record: OutgoingRecord): void {
    if (this.failure !== undefined) return;
    this.queue.push(record);
    if (this.queue.length >= batchRecords) this.kick();
  }

  /**
   * The loop ended a processing slice. At-least-once, what it queued goes now: it is readable as
   * soon as it is written. Exactly-once it waits for a batch's worth or the commit, as Kafka
   * Streams' producer lingers for the commit interval (linger.ms 100): nothing in the transaction
   * is readable before the commit anyway, and a produce request per commit costs the broker far
   * less than one per slice at a light load.
   */
  sliceEnded(): void {
    if (!this.exactlyOnce) this.kick();
  }

  /** Starts sending what is queued, unless a send is in flight (its end sends the rest). */
  private kick(): void {
    if (this.queue.length > 0 && this.failure === undefined) this.sending ??= this.drain();
  }

  /** Records queued or in flight. */
  get pending(): number {
    return this.queue.length;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Whether records went out since the last commit (a transaction is open, or its first records are on their way). */
  get hasOpenTransaction(): boolean {
    return this.producer?.hasOpenTransaction === true || (this.exactlyOnce && this.sending !== undefined);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const batch = takeBatch(this.queue);
        await this.sendBatch(batch);
      }
    } catch (error) {
      this.failure = error;
      this.queue = [];
      this.options.logger.warn({ error: describeError(error) }, 'sending records failed');
    } finally {
      this.sending = undefined;
    }
  }

  private async sendBatch(batch: OutgoingRecord[]): Promise<void> {
    const written = await this.producer!.send(
      batch.map((record) => ({
        topic: record.topic,
        key: record.key,
        value: record.value,
        timestamp: record.timestamp,
        headers: encodeHeaders(record.headers),
        ...(record.partition !== undefined ? { partition: record.partition } : {}),
      })),
    );
    // Where each partition's records end: the changelogs' new checkpoints once committed. A
    // partition the broker answered without an offset (a retried write) keeps its old one.
    for (const { topic, partition, baseOffset, count } of written) if (baseOffset >= 0) this.written.set(partitionKey(topic, partition), baseOffset + count);
  }

  /** Waits until every queued record was acknowledged; throws ProducerFailure if a send failed. */
  async flush(): Promise<void> {
    this.kick();
    while (this.sending) await this.sending;
    if (this.failure !== undefined) throw new ProducerFailure(this.failure);
  }

  /**
   * Makes what was sent since the last commit durable with the consumed offsets. Exactly-once:
   * one transaction; the offsets are committed for `generation`, so an instance that lost its
   * partitions in a rebalance it has not seen yet is refused (fenced) instead of committing.
   * At-least-once: `commitOffsets` commits through the group once the sends are acknowledged.
   * Returns where the committed records end per changelog partition: the stores' new checkpoints.
   */
  async commit(offsets: readonly TopicPartitionOffset[], generation: GroupGeneration | undefined, commitOffsets: (offsets: readonly TopicPartitionOffset[]) => Promise<void>): Promise<WrittenOffsets> {
    await this.flush();
    if (!this.exactlyOnce) {
      if (offsets.length > 0) await commitOffsets(offsets);
      return this.takeWritten();
    }
    if (offsets.length > 0) {
      if (!generation) throw new Error('cannot commit offsets outside a group generation');
      await this.producer!.sendOffsets({ ...generation, offsets });
    }
    await this.producer!.commit();
    return this.takeWritten();
  }

  private takeWritten(): WrittenOffsets {
    const written = this.written;
    this.written = new Map();
    return written;
  }

  /**
   * Drops what was sent since the last commit: the open transaction is aborted (its records
   * never become visible). A producer that was fenced or failed is replaced by a new one.
   */
  async abort(): Promise<void> {
    while (this.sending) await this.sending.catch(() => undefined);
    this.queue = [];
    this.written.clear();
    const hadFailure = this.failure !== undefined;
    this.failure = undefined;
    if (!this.producer) {
      await this.init();
      return;
    }
    try {
      // After a failed send, which records the broker has is unknown: a new epoch, not an EndTxn.
      await this.producer.abort({ reinitialize: hadFailure });
    } catch (error) {
      if (!isProducerFenced(error)) throw error;
      // The coordinator gave the transactional id a newer epoch: it timed the transaction out (the
      // instance stalled), or a zombie of this instance woke up. As Kafka Streams does, the
      // instance takes its id back; two live processes on one state directory are refused at start.
      this.options.logger.warn({ error: describeError(error) }, 'the producer was fenced; taking the transactional id back');
      await this.producer.init();
    }
  }

  async close(): Promise<void> {
    this.producer = undefined;
  }
}

function takeBatch(queue: OutgoingRecord[]): OutgoingRecord[] {
  let bytes = 0;
  let count = 0;
  while (count < queue.length && count < maxRecordsPerSend) {
    const record = queue[count]!;
    bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64;
    if (bytes > maxBytesPerSend && count > 0) break;
    count += 1;
  }
  return queue.splice(0, count);
}
