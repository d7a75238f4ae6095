import type { BytesProducer, KafkaClients } from '../kafka/clients.ts';
import { partitionKey } from '../kafka/partition-key.ts';
import { describeError } from '../kafka/retry.ts';
import { encodeHeaders, type OutgoingRecord } from '../record.ts';
import type { RuntimeLogger } from './logger.ts';

export type ProcessingGuarantee = 'exactly-once' | 'at-least-once';

/** The group generation a transactional offset commit is fenced by (KIP-447). */
export interface GroupGeneration {
  groupId: string;
  generationId: number;
  memberId: string;
}

/** The offset after the last record the collector wrote to each partition it was given explicitly (changelogs), by `partitionKey`. */
export type WrittenOffsets = ReadonlyMap<string, number>;

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
  private producer: BytesProducer | undefined;
  private transaction: Awaited<ReturnType<BytesProducer['beginTransaction']>> | undefined;
  private queue: OutgoingRecord[] = [];
  private sending: Promise<void> | undefined;
  private failure: unknown;
  /** Next offset after the last acknowledged record per topic-partition, in the current transaction (or since the last commit). */
  private written = new Map<string, number>();

  constructor(
    private readonly clients: KafkaClients,
    private readonly options: { guarantee: ProcessingGuarantee; transactionalId: string; transactionTimeoutMs?: number; logger: RuntimeLogger },
  ) {}

  private get exactlyOnce(): boolean {
    return this.options.guarantee === 'exactly-once';
  }

  /** Creates the producer; exactly-once, this fences an earlier producer of this instance and aborts what it left open. */
  async init(): Promise<void> {
    const { transactionalId, transactionTimeoutMs } = this.options;
    const producer = this.clients.producer(this.exactlyOnce ? { transactionalId, ...(transactionTimeoutMs !== undefined ? { transactionTimeoutMs } : {}) } : {});
    try {
      if (this.exactlyOnce) {
        const transaction = await producer.beginTransaction();
        await transaction.cancel();
      } else {
        await producer.initIdempotentProducer({});
      }
    } catch (error) {
      // A producer that could not get its id is not used: the next attempt starts from a new one.
      await producer.close().catch(() => undefined);
      throw error;
    }
    this.producer = producer;
  }

  /**
   * Queues a record. Records leave in batches: when the instance's loop ends a processing slice
   * (`kick`), when a batch's worth has piled up, and at a commit. A send per record would cost a
   * request (and a system call) each, which a loop whose records wait on LevelDB would make.
   */
  send(record: OutgoingRecord): void {
    if (this.failure !== undefined) return;
    this.queue.push(record);
    if (this.queue.length >= batchRecords) this.kick();
  }

  /** Starts sending what is queued, unless a send is in flight (its end sends the rest). */
  kick(): void {
    if (this.queue.length > 0 && this.failure === undefined) this.sending ??= this.drain();
  }

  /** Records queued or in flight. */
  get pending(): number {
    return this.queue.length;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Whether records went out since the last commit (a transaction is open). */
  get hasOpenTransaction(): boolean {
    return this.transaction !== undefined;
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
    const messages = batch.map((record) => ({
      topic: record.topic,
      key: record.key ?? undefined,
      value: record.value ?? undefined,
      timestamp: BigInt(record.timestamp),
      headers: encodeHeaders(record.headers),
      ...(record.partition !== undefined ? { partition: record.partition } : {}),
    }));
    let result;
    if (this.exactlyOnce) {
      this.transaction ??= await this.producer!.beginTransaction();
      result = await this.transaction.send({ messages });
    } else {
      result = await this.producer!.send({ messages });
    }
    const counts = new Map<string, number>();
    for (const message of messages) {
      if (message.partition === undefined) continue;
      const key = partitionKey(message.topic, message.partition);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const { topic, partition, offset } of result.offsets ?? []) {
      const key = partitionKey(topic, partition);
      const count = counts.get(key);
      if (count !== undefined) this.written.set(key, Number(offset) + count);
    }
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
      this.transaction ??= await this.producer!.beginTransaction();
      // The client takes the group from a consumer, and the offsets (all in one request, through
      // the project's patch) from what stands for a consumed message.
      await this.transaction.addConsumer({ groupId: generation.groupId } as never);
      await this.transaction.addOffset({ metadata: { consumer: generation }, offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: BigInt(offset) })) } as never);
    }
    if (this.transaction) {
      const transaction = this.transaction;
      await transaction.commit();
      this.transaction = undefined;
    }
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
    const transaction = this.transaction;
    this.transaction = undefined;
    const hadFailure = this.failure !== undefined;
    this.failure = undefined;
    let aborted = !transaction;
    if (transaction) {
      aborted = await transaction.abort().then(
        () => true,
        (error: unknown) => {
          this.options.logger.warn({ error: describeError(error) }, 'aborting the transaction failed; starting a new producer');
          return false;
        },
      );
    }
    if (!aborted || hadFailure || !this.producer) await this.replaceProducer();
  }

  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = undefined;
    await old?.close().catch(() => undefined);
    await this.init();
  }

  async close(): Promise<void> {
    await this.producer?.close().catch(() => undefined);
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
