import { randomUUID } from 'node:crypto';
import { topicSerdes, type Customer } from '@ecosystem/avro';
import { createProducer, ensureTopics, systemTopics, type Logger, type TopicSpec } from '@ecosystem/platform';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Kafka, Message, Producer } from 'kafkajs';
import { customersAfter, type CustomersDatabase } from './customers-db.ts';
import { customersSourceJob, customersSourceNames } from './jobs.ts';
import { backoffDelay, describeError, sleep } from './retry.ts';

export interface CustomersSourceOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  db: CustomersDatabase;
  logger: Logger;
  /** TOPIC_PREFIX: in front of the topic, subject, offsets topic and transactional id. */
  prefix?: string;
  pollIntervalMs?: number;
  /** Most rows per transaction. */
  batchSize?: number;
  /**
   * Called when a newer worker with the same transactional id fenced this one: it has stopped
   * streaming (a second copy of the job takes over rather than alternating with the first).
   */
  onFenced?: () => void;
}

export interface CustomersSource {
  /** True once the stored position has been read and rows are being streamed. */
  readonly isReady: boolean;
  /** The last id on the topic, as far as this worker knows. */
  readonly position: number | undefined;
  /** The stored position the worker last resumed from (undefined: from the first row). */
  readonly resumedFrom: number | undefined;
  readonly rowsStreamed: number;
  /** True once a newer worker fenced this one; it streams no more. */
  readonly fenced: boolean;
  /** Finishes the current transaction, then stops. */
  stop(): Promise<void>;
}

/**
 * The source's position as Connect stores a source offset: key `[connector, partition]`,
 * value `{"incrementing": <last id>}`, both JSON.
 */
export function positionKey(): string {
  return JSON.stringify([customersSourceJob.name, { table: customersSourceJob.table }]);
}

export function encodePosition(lastId: number): string {
  return JSON.stringify({ incrementing: lastId });
}

export function decodePosition(value: Buffer | null): number | undefined {
  if (value === null) return undefined;
  const parsed: unknown = JSON.parse(value.toString('utf8'));
  const incrementing = typeof parsed === 'object' && parsed !== null && 'incrementing' in parsed ? parsed.incrementing : undefined;
  if (typeof incrementing !== 'number' || !Number.isSafeInteger(incrementing)) {
    throw new Error(`stored position ${value.toString('utf8')} has no integer "incrementing"`);
  }
  return incrementing;
}

/**
 * What Connect's JDBC source does in incrementing mode, with its exactly-once support: poll the
 * rows above the last id, write them and the new position to Kafka in one transaction. A
 * restarted (or crashed and replaced) worker fences the old one through the fixed transactional
 * id, reads the position back from Kafka and goes on: no duplicates, no gaps.
 */
export async function startCustomersSource(options: CustomersSourceOptions): Promise<CustomersSource> {
  const { kafka, db, logger, prefix = '', pollIntervalMs = customersSourceJob.pollIntervalMs, batchSize = 500 } = options;
  const names = customersSourceNames(prefix);
  const serdes = topicSerdes(options.registry, { prefix }).customers;
  const customersTopic = systemTopics.find((topic) => topic.name === customersSourceJob.topic);
  if (!customersTopic) throw new Error(`the topic list has no ${customersSourceJob.topic} topic`);
  const offsetsTopic: TopicSpec = { name: customersSourceJob.offsetsTopic, partitions: 1, compacted: true, description: 'position of the customers source' };
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [customersTopic, offsetsTopic], { prefix, logger });
  } finally {
    await admin.disconnect();
  }

  const stopping = new AbortController();
  const state = { ready: false, fenced: false, position: undefined as number | undefined, resumedFrom: undefined as number | undefined, rowsStreamed: 0 };

  async function toMessage(customer: Customer): Promise<Message> {
    return { key: serdes.key.serialize(customer.id), value: await serdes.value.serialize(customer) };
  }

  /** One transaction: the rows and the position after them, or nothing at all. */
  async function writeBatch(producer: Producer, customers: Customer[]): Promise<void> {
    const messages = await Promise.all(customers.map(toMessage));
    const lastId = customers[customers.length - 1]!.id;
    const transaction = await producer.transaction();
    try {
      await transaction.sendBatch({
        acks: -1,
        topicMessages: [
          { topic: names.topic, messages },
          { topic: names.offsetsTopic, messages: [{ key: positionKey(), value: encodePosition(lastId) }] },
        ],
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
    state.position = lastId;
    state.rowsStreamed += customers.length;
    logger.info({ rows: customers.length, firstId: customers[0]!.id, lastId, topic: names.topic }, 'streamed customers');
  }

  /** Connects, fences any older worker, resumes from the stored position and polls until stopped. */
  async function session(): Promise<void> {
    const producer = createProducer(kafka, { transactionalId: names.transactionalId, idempotent: true, maxInFlightRequests: 1 });
    try {
      await producer.connect();
      // The first transaction initialises the producer id: that fences an older worker and aborts
      // whatever it left open, so the position read next is the last committed one.
      await (await producer.transaction()).abort();
      state.position = state.resumedFrom = await readStoredPosition(kafka, names.offsetsTopic, names.transactionalId);
      logger.info({ position: state.position ?? null, topic: names.topic }, state.position === undefined ? 'no stored position: streaming every row' : 'resuming after the stored position');
      state.ready = true;
      while (!stopping.signal.aborted) {
        const customers = customersAfter(db, state.position ?? Number.MIN_SAFE_INTEGER, batchSize);
        if (customers.length === 0) await sleep(pollIntervalMs, stopping.signal);
        else await writeBatch(producer, customers);
      }
    } finally {
      state.ready = false;
      await producer.disconnect().catch(() => undefined);
    }
  }

  const running = (async () => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      const streamedBefore = state.rowsStreamed;
      try {
        await session();
      } catch (error) {
        if (isFencedError(error)) {
          state.fenced = true;
          logger.error({ transactionalId: names.transactionalId }, 'another customers source with the same transactional id took over; this one stops');
          options.onFenced?.();
          return;
        }
        failures = state.rowsStreamed > streamedBefore ? 1 : failures + 1;
        const delay = backoffDelay(failures);
        // The outcome of the failed transaction is unknown: the next session reads the position back from Kafka.
        logger.error({ error: describeError(error), retryInMs: delay }, 'customers source failed; restarting from the stored position');
        await sleep(delay, stopping.signal);
      }
    }
  })();

  return {
    get isReady() {
      return state.ready;
    },
    get position() {
      return state.position;
    },
    get resumedFrom() {
      return state.resumedFrom;
    },
    get rowsStreamed() {
      return state.rowsStreamed;
    },
    get fenced() {
      return state.fenced;
    },
    async stop() {
      stopping.abort();
      await running;
    },
  };
}

/** The broker's answer to a producer whose transactional id a newer producer has claimed. */
export function isFencedError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if ('type' in error && (error.type === 'INVALID_PRODUCER_EPOCH' || error.type === 'PRODUCER_FENCED')) return true;
  return 'cause' in error && error.cause !== error && isFencedError(error.cause);
}

/**
 * The last position committed to the offsets topic (read committed, to its end), or undefined
 * when nothing was ever written. Call it only after fencing: no transaction of ours is open then.
 */
export async function readStoredPosition(kafka: Kafka, offsetsTopic: string, readerName: string, timeoutMs = 30_000): Promise<number | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  let end: number;
  try {
    const offsets = await admin.fetchTopicOffsets(offsetsTopic);
    end = Number(offsets[0]?.high ?? 0);
    if (end === 0 || offsets.every((partition) => partition.high === partition.low)) return undefined;
  } finally {
    await admin.disconnect();
  }
  // kafkajs has no assign(): a throw-away group reads the single partition, and is deleted afterwards.
  const groupId = `${readerName}.position-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
  let position: number | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: offsetsTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`could not read ${offsetsTopic} to its end (offset ${end}) within ${timeoutMs} ms`)), timeoutMs);
      // Batch ends also report batches made only of transaction markers, which eachMessage never sees.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (Number(payload.lastOffset) >= end - 1) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            if (message.key?.toString('utf8') === positionKey()) position = decodePosition(message.value) ?? position;
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const cleanup = kafka.admin();
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => cleanup.disconnect());
  }
  return position;
}
