import { SerdeError, stringSerde, topicSerdes, type Order } from '@ecosystem/avro';
import { createProducer, ensureTopics, systemTopics, type Logger, type TopicSpec } from '@ecosystem/platform';
import type { Client } from '@elastic/elasticsearch';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Batch, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { bulkItemOutcome, ensureIndex, isTransientElasticsearchError } from './elasticsearch.ts';
import { ordersSinkJob, ordersSinkNames } from './jobs.ts';
import { backoffDelay, describeError, sleep, type BackoffOptions } from './retry.ts';

export interface OrdersSinkOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  elasticsearch: Client;
  logger: Logger;
  /** TOPIC_PREFIX: in front of the topic, index, dead-letter topic and consumer group. */
  prefix?: string;
  /** Most records per bulk request. */
  bulkSize?: number;
  /** Waits between retries while Elasticsearch or the registry fails. */
  retryBackoff?: BackoffOptions;
}

export interface OrdersSink {
  /** True while the consumer is in its group. */
  readonly isReady: boolean;
  readonly documentsWritten: number;
  readonly deadLetters: number;
  stop(): Promise<void>;
}

/** What a retry inside a batch needs from the consumer. */
interface BatchControl {
  /** False once the sink stops or the partition was reassigned. */
  stillWanted: () => boolean;
  heartbeat: () => Promise<void>;
}

/** Heartbeats go out at least this often during retry waits (the group's session timeout is 30 s). */
const heartbeatSliceMs = 1_000;

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
export function deadLetterHeaders(source: { topic: string; partition: number; offset: string }, stage: FailureStage, error: Error): IHeaders {
  return {
    '__connect.errors.topic': source.topic,
    '__connect.errors.partition': String(source.partition),
    '__connect.errors.offset': source.offset,
    '__connect.errors.connector.name': ordersSinkJob.name,
    '__connect.errors.task.id': '0',
    '__connect.errors.stage': stage,
    '__connect.errors.exception.class.name': error.name,
    '__connect.errors.exception.message': error.message.slice(0, 2_000),
  };
}

/**
 * What Connect's Elasticsearch sink does: every record of orders.v1 becomes the document of its
 * order (id = record key, version = record offset), in bulk requests, creating the index with
 * the explicit mapping first. Offsets are committed only after the bulk request succeeded, so a
 * restart resumes without losing records; Elasticsearch being away is waited out, never skipped.
 */
export async function startOrdersSink(options: OrdersSinkOptions): Promise<OrdersSink> {
  const { kafka, elasticsearch, logger, prefix = '', bulkSize = 500, retryBackoff } = options;
  const names = ordersSinkNames(prefix);
  const orderSerde = topicSerdes(options.registry, { prefix })[ordersSinkJob.topic].value;
  const ordersTopic = systemTopics.find((topic) => topic.name === ordersSinkJob.topic);
  if (!ordersTopic) throw new Error(`the topic list has no ${ordersSinkJob.topic} topic`);
  const deadLetterTopic: TopicSpec = { name: ordersSinkJob.deadLetterTopic, partitions: 1, compacted: false, description: 'orders the sink could not index' };
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [ordersTopic, deadLetterTopic], { prefix, logger });
  } finally {
    await admin.disconnect();
  }
  const stopping = new AbortController();
  if (await retryTransient('create the index', () => ensureIndex(elasticsearch, names.index, ordersSinkJob.mapping))) {
    logger.info({ index: names.index }, 'created the index with its explicit mapping');
  }

  const state = { ready: false, documentsWritten: 0, deadLetters: 0 };
  const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: names.groupId, readUncommitted: false, maxWaitTimeInMs: 250 });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    state.ready = true;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    state.ready = false;
    logger.error({ error: describeError(payload.error), restart: payload.restart }, 'orders sink consumer crashed');
  });

  /**
   * Retries `action` while it fails transiently; other errors propagate. Inside a batch, `batch`
   * keeps the consumer's group membership alive during long waits (Elasticsearch down for
   * minutes) and gives up when the partition is no longer ours or the sink stops.
   */
  async function retryTransient<T>(what: string, action: () => Promise<T>, batch?: BatchControl): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await action();
      } catch (error) {
        const transient = isTransientElasticsearchError(error) || (error instanceof SerdeError && error.transient);
        if (!transient || stopping.signal.aborted || (batch && !batch.stillWanted())) throw error;
        const delay = backoffDelay(attempt, retryBackoff);
        logger.warn({ error: describeError(error), attempt, retryInMs: delay }, `cannot ${what} yet; retrying`);
        await wait(delay, batch);
      }
    }
  }

  async function wait(ms: number, batch: BatchControl | undefined): Promise<void> {
    const until = Date.now() + ms;
    while (!stopping.signal.aborted && Date.now() < until) {
      await sleep(Math.min(heartbeatSliceMs, until - Date.now()), stopping.signal);
      await batch?.heartbeat();
    }
  }

  async function decode(message: KafkaMessage, batch: BatchControl): Promise<SinkAction> {
    const { offset } = message;
    let id: string;
    try {
      if (message.key === null) throw new Error('the record has no key, and the document id is the key');
      id = stringSerde.deserialize(message.key);
    } catch (error) {
      return { kind: 'dead-letter', offset, stage: 'KEY_CONVERTER', error: asError(error) };
    }
    if (message.value === null) return { kind: 'delete', offset, id };
    try {
      const value = message.value;
      return { kind: 'index', offset, id, document: await retryTransient('reach the schema registry', () => orderSerde.deserialize(value), batch) };
    } catch (error) {
      if (error instanceof SerdeError && error.transient) throw error; // stopping: leave the record uncommitted
      return { kind: 'dead-letter', offset, stage: 'VALUE_CONVERTER', error: asError(error) };
    }
  }

  /**
   * Sends the bulk request until every action is written, superseded or rejected for good;
   * returns the rejected ones. Throws only when the sink stops (or loses the partition) meanwhile.
   */
  async function writeDocuments(actions: Array<Extract<SinkAction, { kind: 'index' | 'delete' }>>, batch: BatchControl): Promise<SinkAction[]> {
    const rejected: SinkAction[] = [];
    let pending = actions;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const response = await retryTransient('write to Elasticsearch', () => elasticsearch.bulk({ operations: bulkOperations(names.index, pending) }), batch);
      const retry: typeof pending = [];
      response.items.forEach((item, position) => {
        const action = pending[position]!;
        const result = item.index ?? item.delete ?? item.create ?? item.update;
        const outcome = bulkItemOutcome(result?.status ?? 500, result?.error?.type);
        if (outcome === 'written') state.documentsWritten++;
        if (outcome === 'retry') retry.push(action);
        if (outcome === 'rejected') {
          const reason = `${result?.error?.type ?? 'error'}: ${result?.error?.reason ?? `status ${result?.status}`}`;
          rejected.push({ kind: 'dead-letter', offset: action.offset, stage: 'TASK_PUT', error: Object.assign(new Error(reason), { name: 'ElasticsearchRejection' }) });
        }
      });
      pending = retry;
      if (pending.length > 0) {
        if (stopping.signal.aborted || !batch.stillWanted()) throw new Error('stopped while Elasticsearch was refusing documents');
        const delay = backoffDelay(attempt, retryBackoff);
        logger.warn({ documents: pending.length, retryInMs: delay }, 'Elasticsearch refused documents for now; retrying them');
        await wait(delay, batch);
      }
    }
    return rejected;
  }

  async function sendDeadLetters(batch: Batch, deadLetters: Array<Extract<SinkAction, { kind: 'dead-letter' }>>): Promise<void> {
    if (deadLetters.length === 0) return;
    const byOffset = new Map(batch.messages.map((message) => [message.offset, message]));
    await producer.send({
      topic: names.deadLetterTopic,
      acks: -1,
      messages: deadLetters.map(({ offset, stage, error }) => {
        const original = byOffset.get(offset)!;
        return {
          key: original.key,
          value: original.value,
          headers: { ...original.headers, ...deadLetterHeaders({ topic: batch.topic, partition: batch.partition, offset }, stage, error) },
        };
      }),
    });
    state.deadLetters += deadLetters.length;
    for (const { offset, stage, error } of deadLetters) {
      logger.warn({ topic: batch.topic, partition: batch.partition, offset, stage, error: error.message, deadLetterTopic: names.deadLetterTopic }, 'record sent to the dead-letter topic');
    }
  }

  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: names.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      const control: BatchControl = { stillWanted: () => isRunning() && !isStale(), heartbeat };
      for (let start = 0; start < batch.messages.length; start += bulkSize) {
        if (!control.stillWanted() || stopping.signal.aborted) return;
        const chunk = batch.messages.slice(start, start + bulkSize);
        const actions = await Promise.all(chunk.map((message) => decode(message, control)));
        const writes = actions.filter((action): action is Extract<SinkAction, { kind: 'index' | 'delete' }> => action.kind !== 'dead-letter');
        const written = state.documentsWritten;
        const rejected = writes.length > 0 ? await writeDocuments(writes, control) : [];
        const deadLetters = [...actions, ...rejected].filter((action): action is Extract<SinkAction, { kind: 'dead-letter' }> => action.kind === 'dead-letter');
        await sendDeadLetters(batch, deadLetters);
        const last = chunk[chunk.length - 1]!.offset;
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(last) + 1) }]);
        resolveOffset(last);
        await heartbeat();
        logger.info(
          { partition: batch.partition, records: chunk.length, documents: state.documentsWritten - written, deadLetters: deadLetters.length, lastOffset: last, index: names.index },
          'indexed orders',
        );
      }
    },
  });

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
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
