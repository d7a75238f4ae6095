import { NumericMap, ProduceAcks, protocolErrorsCodesById, type MessageRecord } from '@platformatic/kafka';
import type { RuntimeLogger } from '../engine/logger.ts';
import { partitionForKey } from '../partitioner.ts';
import { isConnectionFailure, isStaleCoordinator, isStaleLeader, type BrokerConnections, type NodeId } from './broker-connections.ts';
import { errorIds } from './errors.ts';
import { partitionKey, type TopicPartitionKey } from './partition-key.ts';
import {
  addOffsetsToTxnVersions,
  addPartitionsToTxn,
  checkErrorCode,
  endTxnV5,
  endTxnVersions,
  initProducerIdVersions,
  produceV12,
  produceVersions,
  protocolError,
  txnOffsetCommitV5,
  txnOffsetCommitVersions,
} from './protocol.ts';
import { backoffDelay, retry, sleep } from './retry.ts';

/** A record to write; without a partition, its key's murmur2 partition (the Java producer's), or round robin for a null key. */
export interface ProducerRecord {
  topic: string;
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: Map<Buffer, Buffer>;
}

/** Where a partition's records of one send went: offsets `baseOffset` to `baseOffset + count - 1`. */
export interface PartitionWrite {
  topic: string;
  partition: number;
  /** -1 when the broker had them already (a retried request) and did not say where. */
  baseOffset: number;
  count: number;
}

/** Offsets a transaction commits for a consumer group generation (KIP-447 fencing). */
export interface TransactionOffsets {
  groupId: string;
  generationId: number;
  memberId: string;
  offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>;
}

export interface RecordProducerOptions {
  /** Makes the producer transactional; omitted, it is idempotent only. */
  transactionalId?: string;
  /** How long the coordinator keeps an open transaction of a silent producer (default 10 s). */
  transactionTimeoutMs?: number;
  /** How long a send keeps retrying failures that pass (a leader moving, a coordinator loading) before failing (default 30 s). */
  deliveryTimeoutMs?: number;
  /** How long a broker may wait for the replicas before answering a write (default 30 s). */
  writeTimeoutMs?: number;
  logger: RuntimeLogger;
}

/** Partition answers after which the same records, with the same sequence numbers, are written again. */
const retriableWriteIds = new Set(['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'REQUEST_TIMED_OUT', 'KAFKA_STORAGE_ERROR', 'CONCURRENT_TRANSACTIONS', 'NETWORK_EXCEPTION']);
/** Transaction coordinator answers worth another attempt. */
const retriableTransactionIds = new Set(['CONCURRENT_TRANSACTIONS', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS', 'REQUEST_TIMED_OUT', 'UNKNOWN_TOPIC_OR_PARTITION']);

/** Answers saying a newer producer took this transactional id: this one must stop, not retry. */
const producerFencedIds = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

/** Whether a failure says another producer now owns the transactional id. */
export function isProducerFenced(error: unknown): boolean {
  return [...errorIds(error)].some((id) => producerFencedIds.has(id));
}

function retriableTransactionFailure(error: unknown): boolean {
  return isConnectionFailure(error) || [...errorIds(error)].some((id) => retriableTransactionIds.has(id));
}

interface PartitionBatch {
  topic: string;
  partition: number;
  records: ProducerRecord[];
}

interface OpenTransaction {
  /** Partitions added to it (transaction protocol 1 adds them explicitly; 2 lets each write add its own). */
  partitions: Set<TopicPartitionKey>;
  groups: Set<string>;
  /** Whether anything reached the coordinator or a partition: only then is there a transaction to end. */
  begun: boolean;
}

/**
 * An idempotent, optionally transactional producer on the client's protocol layer (Kafka
 * Streams' StreamsProducer). It numbers each partition's records (so a retried write is never
 * written twice), writes each send's partitions to their leaders in parallel, and retries what
 * can pass by itself (a leader moving, a coordinator loading) with the same sequence numbers.
 *
 * Transactions use the cluster's transaction protocol: version 2 (KIP-890, Kafka 4) where the
 * cluster has it, so writes and offset commits add their partitions to the transaction by
 * themselves and each commit costs one EndTxn; version 1 otherwise (AddPartitionsToTxn before
 * the first write to a partition, AddOffsetsToTxn before the offsets). A producer whose
 * transactional id was taken by a newer one (PRODUCER_FENCED) fails for good.
 */
export class RecordProducer {
  private identity: { producerId: bigint; epoch: number } | undefined;
  private readonly sequences = new Map<TopicPartitionKey, number>();
  private transactionProtocol: 1 | 2 = 1;
  private transaction: OpenTransaction | undefined;
  private roundRobin = 0;
  /** Set once a newer producer took the transactional id: every later operation fails with it. */
  private fencedBy: unknown;

  constructor(
    private readonly connections: BrokerConnections,
    private readonly options: RecordProducerOptions,
  ) {}

  get transactional(): boolean {
    return this.options.transactionalId !== undefined;
  }

  /** Whether records or offsets went into a transaction that is not ended yet. */
  get hasOpenTransaction(): boolean {
    return this.transaction?.begun === true;
  }

  /**
   * Takes a producer id (and epoch) from the cluster. For a transactional id this fences every
   * earlier producer with the same id and aborts the transaction it left open.
   */
  async init(): Promise<void> {
    this.fencedBy = undefined;
    this.identity = undefined;
    this.transaction = undefined;
    this.sequences.clear();
    if (this.transactional) this.transactionProtocol = (await this.supportsTransactionProtocol2()) ? 2 : 1;
    const api = await this.connections.choose(initProducerIdVersions);
    const transactionalId = this.options.transactionalId ?? null;
    const answer = await this.retryTransactional('InitProducerId', async () => {
      const node = transactionalId === null ? 'any' : await this.connections.coordinator('transaction', transactionalId);
      const answer = await this.connections.request('produce', node, api, transactionalId, this.options.transactionTimeoutMs ?? 10_000, -1n, -1);
      checkErrorCode(answer);
      return answer;
    });
    this.identity = { producerId: answer.producerId, epoch: answer.producerEpoch };
  }

  private async supportsTransactionProtocol2(): Promise<boolean> {
    if ((await this.connections.featureLevel('transaction.version')) < 2) return false;
    const supported = (choice: Promise<unknown>) => choice.then(() => true, () => false);
    const versions = await Promise.all([supported(this.connections.choose([produceV12])), supported(this.connections.choose([txnOffsetCommitV5])), supported(this.connections.choose([endTxnV5]))]);
    return versions.every(Boolean);
  }

  /**
   * Writes the records (in a transaction, the producer's open one) and waits until every
   * partition's leader acknowledged them (acks=all). Records of one partition keep their order.
   */
  async send(records: readonly ProducerRecord[]): Promise<PartitionWrite[]> {
    if (this.fencedBy !== undefined) throw this.fencedBy;
    const identity = this.identity;
    if (!identity) throw new Error('the producer has no producer id: call init() first');
    const batches = await this.partitionBatches(records);
    if (this.transactional) this.transaction ??= { partitions: new Set(), groups: new Set(), begun: false };
    const pending = new Map(batches.map((batch) => [partitionKey(batch.topic, batch.partition), batch]));
    const written: PartitionWrite[] = [];
    const deadline = Date.now() + (this.options.deliveryTimeoutMs ?? 30_000);
    for (let attempt = 1; ; attempt += 1) {
      let lastFailure: unknown;
      let onlyConcurrentTransactions = true;
      try {
        if (this.transactional && this.transactionProtocol === 1) await this.addPartitions([...pending.values()]);
        const byLeader = new Map<NodeId, PartitionBatch[]>();
        for (const batch of pending.values()) {
          const { leader } = await this.connections.leaderOf(batch.topic, batch.partition);
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), batch]);
        }
        const failures = await Promise.all([...byLeader].map(([leader, leaderBatches]) => this.write(leader, leaderBatches, identity, pending, written)));
        for (const failure of failures) {
          if (failure === undefined) continue;
          lastFailure = failure;
          if (!errorIds(failure).has('CONCURRENT_TRANSACTIONS')) onlyConcurrentTransactions = false;
        }
      } catch (error) {
        if (!isStaleLeader(error) && !retriableTransactionFailure(error)) throw error;
        lastFailure = error;
        onlyConcurrentTransactions = false;
      }
      if (pending.size === 0) return written;
      if (Date.now() >= deadline) throw lastFailure;
      // A transaction that ended a moment ago is still being completed: that passes in milliseconds.
      await sleep(onlyConcurrentTransactions ? Math.min(5 * attempt, 100) : backoffDelay(attempt, { initialMs: 50, maxMs: 1_000 }));
    }
  }

  private async partitionBatches(records: readonly ProducerRecord[]): Promise<PartitionBatch[]> {
    const batches = new Map<string, PartitionBatch>();
    for (const record of records) {
      let partition = record.partition;
      if (partition === undefined) {
        const count = await this.connections.partitionCount(record.topic);
        partition = record.key ? partitionForKey(record.key, count) : this.roundRobin++ % count;
      }
      const id = partitionKey(record.topic, partition);
      let batch = batches.get(id);
      if (!batch) {
        batch = { topic: record.topic, partition, records: [] };
        batches.set(id, batch);
      }
      batch.records.push(record);
    }
    return [...batches.values()];
  }

  /**
   * One Produce request to a leader: one record batch per partition, numbered from each
   * partition's next sequence. Acknowledged partitions leave `pending`; the failure that keeps
   * others there (to be written again, same numbers) is returned; anything else is thrown.
   */
  private async write(leader: NodeId, batches: PartitionBatch[], identity: { producerId: bigint; epoch: number }, pending: Map<string, PartitionBatch>, written: PartitionWrite[]): Promise<unknown> {
    const api = this.transactionProtocol === 2 && this.transactional ? produceV12 : await this.connections.choose(produceVersions);
    const sequences = new NumericMap();
    const messages: MessageRecord[] = [];
    for (const batch of batches) {
      sequences.set(`${batch.topic}:${batch.partition}`, this.sequences.get(partitionKey(batch.topic, batch.partition)) ?? 0);
      for (const record of batch.records) {
        messages.push({ topic: batch.topic, partition: batch.partition, key: record.key ?? undefined, value: record.value as Buffer, timestamp: BigInt(record.timestamp), headers: record.headers ?? new Map() });
      }
    }
    let answer;
    try {
      answer = await this.connections.request('produce', leader, api, ProduceAcks.ALL, this.options.writeTimeoutMs ?? 30_000, messages, {
        producerId: identity.producerId,
        producerEpoch: identity.epoch,
        sequences,
        partitionLeaderEpoch: -1,
        ...(this.options.transactionalId !== undefined ? { transactionalId: this.options.transactionalId } : {}),
      });
    } catch (error) {
      // No answer: the broker may have written the records. Writing them again with the same
      // numbers is safe (it recognizes them), and the leader may have moved.
      if (!isConnectionFailure(error)) throw error;
      this.connections.forgetLeaders(batches.map((batch) => batch.topic));
      return error;
    }
    if (typeof answer === 'boolean') throw new Error('a produce request with acks=all got no answer');
    let failure: unknown;
    for (const topic of answer.responses) {
      for (const partition of topic.partitionResponses) {
        const id = partitionKey(topic.name, partition.index);
        const batch = pending.get(id);
        if (!batch) continue;
        const name = protocolErrorsCodesById[partition.errorCode as keyof typeof protocolErrorsCodesById] ?? String(partition.errorCode);
        if (partition.errorCode === 0 || name === 'DUPLICATE_SEQUENCE_NUMBER') {
          pending.delete(id);
          this.sequences.set(id, (this.sequences.get(id) ?? 0) + batch.records.length);
          written.push({ topic: topic.name, partition: partition.index, baseOffset: partition.errorCode === 0 ? Number(partition.baseOffset) : -1, count: batch.records.length });
          if (this.transaction) this.transaction.begun = true;
          continue;
        }
        const error = protocolError(partition.errorCode, partition.errorMessage);
        if (isProducerFenced(error)) this.fencedBy = error;
        if (!retriableWriteIds.has(name)) throw error;
        if (name !== 'CONCURRENT_TRANSACTIONS') this.connections.forgetLeaders([topic.name]);
        failure = error;
      }
    }
    return failure;
  }

  /** Transaction protocol 1: the partitions a write is about to touch join the transaction first, in one request. */
  private async addPartitions(batches: readonly PartitionBatch[]): Promise<void> {
    const transaction = this.transaction!;
    const added = batches.filter((batch) => !transaction.partitions.has(partitionKey(batch.topic, batch.partition)));
    if (added.length === 0) return;
    const { producerId, epoch } = this.identity!;
    const transactionalId = this.options.transactionalId!;
    const byTopic = new Map<string, number[]>();
    for (const batch of added) byTopic.set(batch.topic, [...(byTopic.get(batch.topic) ?? []), batch.partition]);
    await this.retryTransactional('AddPartitionsToTxn', async () => {
      const node = await this.connections.coordinator('transaction', transactionalId);
      const answer = await this.connections.request('produce', node, addPartitionsToTxn, [
        { transactionalId, producerId, producerEpoch: epoch, verifyOnly: false, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) },
      ]);
      for (const result of answer.resultsByTransaction ?? []) {
        for (const topic of result.topicResults) for (const partition of topic.resultsByPartition) if (partition.partitionErrorCode !== 0) throw protocolError(partition.partitionErrorCode);
      }
    });
    transaction.begun = true;
    for (const batch of added) transaction.partitions.add(partitionKey(batch.topic, batch.partition));
  }

  /**
   * Adds consumed offsets to the open transaction, for the group generation the caller's tasks
   * run under: if that generation has ended (the tasks moved to another instance), the group
   * coordinator refuses them (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID...) and this throws.
   */
  async sendOffsets({ groupId, generationId, memberId, offsets }: TransactionOffsets): Promise<void> {
    if (offsets.length === 0) return;
    const { producerId, epoch } = this.identity!;
    const transactionalId = this.options.transactionalId!;
    const transaction = (this.transaction ??= { partitions: new Set(), groups: new Set(), begun: false });
    if (this.transactionProtocol === 1 && !transaction.groups.has(groupId)) {
      const api = await this.connections.choose(addOffsetsToTxnVersions);
      await this.retryTransactional('AddOffsetsToTxn', async () => {
        const node = await this.connections.coordinator('transaction', transactionalId);
        checkErrorCode(await this.connections.request('produce', node, api, transactionalId, producerId, epoch, groupId));
      });
      transaction.groups.add(groupId);
      transaction.begun = true;
    }
    const api = this.transactionProtocol === 2 ? txnOffsetCommitV5 : await this.connections.choose(txnOffsetCommitVersions);
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }>>();
    for (const { topic, partition, offset } of offsets) {
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partitionIndex: partition, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null }]);
    }
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    await this.retryTransactional(
      'TxnOffsetCommit',
      async () => {
        const node = await this.connections.coordinator('group', groupId);
        const answer = await this.connections.request('produce', node, api, transactionalId, groupId, producerId, epoch, generationId, memberId, null, topics);
        for (const topic of answer.topics) for (const partition of topic.partitions) if (partition.errorCode !== 0) throw protocolError(partition.errorCode);
      },
      groupId,
    );
    transaction.begun = true;
  }

  /** Commits the open transaction: its records and offsets become visible together. Nothing happens when nothing was written. */
  async commit(): Promise<void> {
    await this.endTransaction(true);
  }

  /**
   * Aborts the open transaction (its records never become visible). A producer left in doubt
   * by a failure (a write whose numbering is unknown, a fenced epoch) takes a new epoch instead,
   * which also aborts what it had open.
   */
  async abort(options: { reinitialize?: boolean } = {}): Promise<void> {
    // A fenced producer must not take its id back (the two would fence each other in turn).
    if (this.fencedBy !== undefined) throw this.fencedBy;
    if (!options.reinitialize && this.identity) {
      try {
        await this.endTransaction(false);
        return;
      } catch (error) {
        if (this.fencedBy !== undefined) throw this.fencedBy;
        this.options.logger.warn({ error: String(error) }, 'aborting the transaction failed; taking a new producer epoch');
      }
    }
    await this.init();
  }

  private async endTransaction(commit: boolean): Promise<void> {
    const transaction = this.transaction;
    if (!transaction?.begun) {
      this.transaction = undefined;
      return;
    }
    const { producerId, epoch } = this.identity!;
    const transactionalId = this.options.transactionalId!;
    if (this.transactionProtocol === 2) {
      const answer = await this.retryTransactional('EndTxn', async () => {
        const node = await this.connections.coordinator('transaction', transactionalId);
        const answer = await this.connections.request('produce', node, endTxnV5, transactionalId, producerId, epoch, commit);
        checkErrorCode(answer);
        return answer;
      });
      // Every transaction bumps the epoch: the next one's records are numbered from 0 again.
      if (answer.producerEpoch >= 0) {
        this.identity = { producerId: answer.producerId, epoch: answer.producerEpoch };
        this.sequences.clear();
      }
    } else {
      const api = await this.connections.choose(endTxnVersions);
      await this.retryTransactional('EndTxn', async () => {
        const node = await this.connections.coordinator('transaction', transactionalId);
        checkErrorCode(await this.connections.request('produce', node, api, transactionalId, producerId, epoch, commit));
      });
    }
    this.transaction = undefined;
  }

  /** A transactional request, retried while the coordinator moves, loads or finishes the previous transaction. */
  private retryTransactional<T>(what: string, operation: () => Promise<T>, groupId?: string): Promise<T> {
    const transactionalId = this.options.transactionalId;
    return retry(
      async () => {
        if (this.fencedBy !== undefined) throw this.fencedBy;
        try {
          return await operation();
        } catch (error) {
          if (isProducerFenced(error) && what !== 'InitProducerId') this.fencedBy = error;
          if (isStaleCoordinator(error)) {
            if (transactionalId !== undefined) this.connections.forgetCoordinator('transaction', transactionalId);
            if (groupId !== undefined) this.connections.forgetCoordinator('group', groupId);
          }
          throw error;
        }
      },
      {
        retriable: retriableTransactionFailure,
        // CONCURRENT_TRANSACTIONS lasts the few milliseconds the coordinator takes to finish the previous transaction.
        initialDelayMs: 5,
        maxDelayMs: 1_000,
        timeoutMs: this.options.deliveryTimeoutMs ?? 30_000,
        onRetry: (error, attempt) => {
          if (attempt >= 5) this.options.logger.debug({ request: what, attempt, error: String(error) }, 'transaction request retried');
        },
      },
    );
  }
}
