import { SerdeError, stringSerde, topicSerdes, type Order } from '@ecosystem/avro';
import { ensureTopics, systemTopics, type Logger, type TopicSpec } from '@ecosystem/platform';
import { backoffDelay, describeError, retry, sleep, type BackoffOptions, type BytesConsumer, type BytesProducer, type KafkaClients } from 'kstreams';
import type { Client } from '@elastic/elasticsearch';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { FetchIsolationLevels, MessagesStreamFallbackModes, MessagesStreamModes, type Message, type MessagesStream } from '@platformatic/kafka';
import { connectErrorHeaders } from './dead-letters.ts';
import { bulkItemOutcome, ensureIndex, isTransientElasticsearchError } from './elasticsearch.ts';
import { ordersSinkJob, ordersSinkNames } from './jobs.ts';

export interface OrdersSinkOptions {
  kafka: KafkaClients;
  registry: SchemaRegistry;
  elasticsearch: Client;
  logger: Logger;
  /** TOPIC_PREFIX: in front of the topic, index, dead-letter topic and consumer group. */
  prefix?: string;
  /** Most records per bulk request. */
  bulkSize?: number;
  /** Waits between retries while Elasticsearch or the registry fails (default 200 ms doubling up to 30 s). */
  retryBackoff?: BackoffOptions;
}

export interface OrdersSink {
  /** True while the consumer is in its group. */
  readonly isReady: boolean;
  readonly documentsWritten: number;
  readonly deadLetters: number;
  stop(): Promise<void>;
}

type OrderRecord = Message<Buffer, Buffer, Buffer, Buffer>;

/** What a retry inside a chunk needs to know. */
interface ChunkControl {
  /** False once the sink stops or the group gave the partition to another member. */
  stillWanted: () => boolean;
}

/** The stage names Connect writes in its dead-letter headers. */
export type FailureStage = 'KEY_CONVERTER' | 'VALUE_CONVERTER' | 'TASK_PUT';

/** One record turned into what the bulk request does with it. */
export type SinkAction =
  | { kind: 'index'; offset: string; id: string; document: Order }
  | { kind: 'delete'; offset: string; id: string }
  | { kind: 'dead-letter'; offset: string; stage: FailureStage; error: Error };

/** Bulk operations for index/delete actions: the record offset is the document's external version. */
export function bulkOperations(index: string, actions: ReadonlyArray<Extract<SinkAction, { kind: 'index' | 'delete' }>>): object[] {
  return actions.flatMap((action): object[] => {
    const target = { _index: index, _id: action.id, version: Number(action.offset), version_type: 'external' as const };
    return action.kind === 'index' ? [{ index: target }, action.document] : [{ delete: target }];
  });
}

/** The headers Connect's dead-letter queue adds (errors.deadletterqueue.context.headers.enable=true). */
export function deadLetterHeaders(source: { topic: string; partition: number; offset: string }, stage: FailureStage, error: Error): Record<string, string> {
  return connectErrorHeaders(ordersSinkJob.name, { topic: source.topic, partition: String(source.partition), offset: source.offset }, stage, error);
}

/**
 * What Connect's Elasticsearch sink does: every record of orders.v1 becomes the document of its
 * order (id = record key, version = record offset), in bulk requests, creating the index with
 * the explicit mapping first. Offsets are committed to the sink's consumer group only after the
 * bulk request succeeded, so a restart resumes without losing records; Elasticsearch being away
 * is waited out, never skipped. Delivery is at least once, as with Connect: after a crash or a
 * rebalance the records since the last commit are indexed again, which the external versions
 * make harmless for the documents.
 */
export async function startOrdersSink(options: OrdersSinkOptions): Promise<OrdersSink> {
  const { kafka, elasticsearch, logger, prefix = '', bulkSize = 500 } = options;
  const retryBackoff = { initialMs: 200, maxMs: 30_000, ...options.retryBackoff };
  const names = ordersSinkNames(prefix);
  const orderSerde = topicSerdes(options.registry, { prefix })[ordersSinkJob.topic].value;
  const ordersTopic = systemTopics.find((topic) => topic.name === ordersSinkJob.topic);
  if (!ordersTopic) throw new Error(`the topic list has no ${ordersSinkJob.topic} topic`);
  const deadLetterTopic: TopicSpec = { name: ordersSinkJob.deadLetterTopic, partitions: 1, compacted: false, description: 'orders the sink could not index' };
  await ensureTopics(kafka, [ordersTopic, deadLetterTopic], { prefix, logger });
  const stopping = new AbortController();
  if (await retryTransient('create the index', () => ensureIndex(elasticsearch, names.index, ordersSinkJob.mapping))) {
    logger.info({ index: names.index }, 'created the index with its explicit mapping');
  }

  const state = { ready: false, documentsWritten: 0, deadLetters: 0 };
  /**
   * The offset committed last per partition, over every session: a stream re-reads a partition
   * from its committed offset after each rebalance while records fetched before it are still
   * delivered, and those must not be indexed and dead-lettered twice.
   */
  const processed = new Map<number, bigint>();

  /**
   * Retries `action` while it fails transiently; other errors propagate. Inside a chunk it gives
   * up when the partition is no longer ours or the sink stops (the client keeps the group
   * membership alive meanwhile: its heartbeats do not wait for the processing).
   */
  function retryTransient<T>(what: string, action: () => Promise<T>, chunk?: ChunkControl): Promise<T> {
    return retry(action, {
      retriable: (error) => (isTransientElasticsearchError(error) || (error instanceof SerdeError && error.transient)) && (chunk?.stillWanted() ?? true),
      initialDelayMs: retryBackoff.initialMs,
      maxDelayMs: retryBackoff.maxMs,
      signal: stopping.signal,
      onRetry: (error, attempt, delay) => logger.warn({ error: describeError(error), attempt, retryInMs: delay }, `cannot ${what} yet; retrying`),
    });
  }

  async function decode(record: OrderRecord, chunk: ChunkControl): Promise<SinkAction> {
    const offset = String(record.offset);
    // A null key or value arrives as undefined (the client's declared type does not say so).
    const key: Buffer | undefined = record.key ?? undefined;
    const value: Buffer | undefined = record.value ?? undefined;
    let id: string;
    try {
      if (key === undefined) throw new Error('the record has no key, and the document id is the key');
      id = stringSerde.deserialize(key);
    } catch (error) {
      return { kind: 'dead-letter', offset, stage: 'KEY_CONVERTER', error: asError(error) };
    }
    if (value === undefined) return { kind: 'delete', offset, id };
    try {
      return { kind: 'index', offset, id, document: await retryTransient('reach the schema registry', () => orderSerde.deserialize(value), chunk) };
    } catch (error) {
      if (error instanceof SerdeError && error.transient) throw error; // stopping: leave the record uncommitted
      return { kind: 'dead-letter', offset, stage: 'VALUE_CONVERTER', error: asError(error) };
    }
  }

  /**
   * Sends the bulk request until every action is written, superseded or rejected for good;
   * returns the rejected ones. Throws only when the sink stops (or loses the partition) meanwhile.
   */
  async function writeDocuments(actions: Array<Extract<SinkAction, { kind: 'index' | 'delete' }>>, chunk: ChunkControl): Promise<SinkAction[]> {
    const rejected: SinkAction[] = [];
    let pending = actions;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const response = await retryTransient('write to Elasticsearch', () => elasticsearch.bulk({ operations: bulkOperations(names.index, pending) }), chunk);
      const refusedForNow: typeof pending = [];
      response.items.forEach((item, position) => {
        const action = pending[position]!;
        const result = item.index ?? item.delete ?? item.create ?? item.update;
        const outcome = bulkItemOutcome(result?.status ?? 500, result?.error?.type);
        if (outcome === 'written') state.documentsWritten++;
        if (outcome === 'retry') refusedForNow.push(action);
        if (outcome === 'rejected') {
          const reason = `${result?.error?.type ?? 'error'}: ${result?.error?.reason ?? `status ${result?.status}`}`;
          rejected.push({ kind: 'dead-letter', offset: action.offset, stage: 'TASK_PUT', error: Object.assign(new Error(reason), { name: 'ElasticsearchRejection' }) });
        }
      });
      pending = refusedForNow;
      if (pending.length > 0) {
        if (stopping.signal.aborted || !chunk.stillWanted()) throw new Error('stopped while Elasticsearch was refusing documents');
        const delay = backoffDelay(attempt, retryBackoff);
        logger.warn({ documents: pending.length, retryInMs: delay }, 'Elasticsearch refused documents for now; retrying them');
        await sleep(delay, stopping.signal);
      }
    }
    return rejected;
  }

  async function sendDeadLetters(producer: BytesProducer, topic: string, partition: number, records: readonly OrderRecord[], deadLetters: Array<Extract<SinkAction, { kind: 'dead-letter' }>>): Promise<void> {
    if (deadLetters.length === 0) return;
    const byOffset = new Map(records.map((record) => [String(record.offset), record]));
    await producer.send({
      messages: deadLetters.map(({ offset, stage, error }) => {
        const original = byOffset.get(offset)!;
        return {
          topic: names.deadLetterTopic,
          // The original bytes as they were, null key and value included.
          ...(original.key ? { key: original.key } : {}),
          ...(original.value ? { value: original.value } : {}),
          headers: withHeaders(original.headers, deadLetterHeaders({ topic, partition, offset }, stage, error)),
        };
      }),
    });
    state.deadLetters += deadLetters.length;
    for (const { offset, stage, error } of deadLetters) {
      logger.warn({ topic, partition, offset, stage, error: error.message, deadLetterTopic: names.deadLetterTopic }, 'record sent to the dead-letter topic');
    }
  }

  /** Indexes the records of one partition (in offset order), dead-letters what cannot be, then commits past them. */
  async function processPartition(session: Session, topic: string, partition: number, records: readonly OrderRecord[]): Promise<void> {
    const chunk: ChunkControl = { stillWanted: () => !stopping.signal.aborted && session.owns(topic, partition) };
    const actions = await Promise.all(records.map((record) => decode(record, chunk)));
    const writes = actions.filter((action): action is Extract<SinkAction, { kind: 'index' | 'delete' }> => action.kind !== 'dead-letter');
    const written = state.documentsWritten;
    const rejected = writes.length > 0 ? await writeDocuments(writes, chunk) : [];
    const deadLetters = [...actions, ...rejected].filter((action): action is Extract<SinkAction, { kind: 'dead-letter' }> => action.kind === 'dead-letter');
    await sendDeadLetters(session.producer, topic, partition, records, deadLetters);
    const last = records[records.length - 1]!.offset;
    // A partition the group gave to another member meanwhile is not committed: its new owner
    // goes on from the last commit (at least once, as Connect).
    if (session.owns(topic, partition)) {
      await session.consumer.commit({ offsets: [{ topic, partition, offset: last + 1n, leaderEpoch: -1 }] });
      processed.set(partition, last + 1n);
    }
    logger.info(
      { partition, records: records.length, documents: state.documentsWritten - written, deadLetters: deadLetters.length, lastOffset: String(last), index: names.index },
      'indexed orders',
    );
  }

  /** Joins the group and starts reading from the committed offsets (the beginning when there are none). */
  async function openSession(): Promise<Session> {
    const consumer = kafka.consumer(names.groupId);
    consumer.on('consumer:group:join', () => (state.ready = true));
    consumer.on('consumer:group:leave', () => (state.ready = false));
    try {
      const stream = await consumer.consume({
        topics: [names.topic],
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        autocommit: false,
        maxWaitTime: 250,
      });
      const owns = (topic: string, partition: number) => consumer.assignments?.some((assignment) => assignment.topic === topic && assignment.partitions.includes(partition)) ?? false;
      return { consumer, stream, producer: kafka.producer(), owns };
    } catch (error) {
      await consumer.close().catch(() => undefined);
      throw error;
    }
  }

  /** Processes what the stream delivers until it ends (the sink stops) or fails. */
  async function run(session: Session): Promise<void> {
    const close = () => void session.stream.close().catch(() => undefined);
    stopping.signal.addEventListener('abort', close, { once: true });
    // Stopped while the session was being opened: the listener above never fires.
    if (stopping.signal.aborted) close();
    try {
      for await (const records of chunks(session.stream, bulkSize)) {
        const byPartition = new Map<number, OrderRecord[]>();
        for (const record of records) {
          if (record.offset < (processed.get(record.partition) ?? 0n)) continue;
          const partitionRecords = byPartition.get(record.partition);
          if (partitionRecords) partitionRecords.push(record);
          else byPartition.set(record.partition, [record]);
        }
        for (const [partition, partitionRecords] of byPartition) {
          if (stopping.signal.aborted) return;
          await processPartition(session, names.topic, partition, partitionRecords);
        }
      }
    } finally {
      stopping.signal.removeEventListener('abort', close);
      state.ready = false;
      // The stream first: the consumer leaves the group only once no stream reads from it.
      await session.stream.close().catch(() => undefined);
      await session.consumer.close().catch(() => undefined);
      await session.producer.close().catch(() => undefined);
    }
  }

  // The first session is opened here, so a sink that cannot reach Kafka fails to start.
  const first = await openSession();
  const running = (async () => {
    let session: Session | undefined = first;
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        session ??= await openSession();
        const writtenBefore = state.documentsWritten + state.deadLetters;
        await run(session).catch((error: unknown) => {
          // Progress since the last failure resets the backoff.
          if (state.documentsWritten + state.deadLetters > writtenBefore) failures = 0;
          throw error;
        });
      } catch (error) {
        if (stopping.signal.aborted) break;
        failures += 1;
        const delay = backoffDelay(failures, retryBackoff);
        // A failed fetch or commit ends the stream: a new consumer resumes from the committed offsets.
        logger.error({ error: describeError(error), retryInMs: delay }, 'orders sink consumer failed; restarting from the committed offsets');
        await sleep(delay, stopping.signal);
      }
      session = undefined;
    }
  })();

  return {
    get isReady() {
      return state.ready;
    },
    get documentsWritten() {
      return state.documentsWritten;
    },
    get deadLetters() {
      return state.deadLetters;
    },
    async stop() {
      stopping.abort();
      state.ready = false;
      await running;
    },
  };
}

/** A consumer of the sink's group with its stream, and the producer of its dead letters. */
interface Session {
  consumer: BytesConsumer;
  stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
  producer: BytesProducer;
  /** Whether the group assigns the partition to this member now. */
  owns: (topic: string, partition: number) => boolean;
}

/**
 * The stream's records in chunks of up to `size`: each waits for one record, then takes what
 * the stream has already fetched, so a backlog goes out in full bulk requests and a single
 * new record at once.
 */
async function* chunks<T>(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> & AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  for await (const first of stream) {
    const chunk: T[] = [first];
    for (let next: T | null; chunk.length < size && (next = stream.read() as T | null) !== null; ) chunk.push(next);
    yield chunk;
  }
}

/** The record's own headers with Connect's added (replacing any of the same name), as bytes. */
function withHeaders(original: ReadonlyMap<Buffer, Buffer>, added: Record<string, string>): Map<Buffer, Buffer> {
  const headers = new Map<Buffer, Buffer>();
  for (const [name, value] of original) if (!Object.hasOwn(added, name.toString())) headers.set(name, value);
  for (const [name, value] of Object.entries(added)) headers.set(Buffer.from(name), Buffer.from(value));
  return headers;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
