import { topicSerdes } from '@ecosystem/avro';
import { ensureTopics, systemTopics, type Logger, type TopicSpec } from '@ecosystem/platform';
import { backoffDelay, beginningOffsets, describeError, encodeHeaders, endOffsets, errorIds, RecordProducer, sleep, TopicReader, type KafkaClients } from 'kstreams';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { connectErrorHeaders } from './dead-letters.ts';
import { customerRowsAfter, rowAsJson, type CustomerRow, type CustomersDatabase } from './customers-db.ts';
import { customersSourceJob, customersSourceNames } from './jobs.ts';

export interface CustomersSourceOptions {
  kafka: KafkaClients;
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
  /** Rows written to `customers`. */
  readonly rowsStreamed: number;
  /** Rows that are not valid Customers, written to the dead-letter topic instead. */
  readonly deadLetters: number;
  /** True once a newer worker fenced this one; it streams no more. */
  readonly fenced: boolean;
  /** Finishes the current transaction, then stops. */
  stop(): Promise<void>;
}

/** A record of the source's transaction: a row of the table, a dead letter, or the position after the rows. */
interface OutgoingMessage {
  topic: string;
  key: Buffer;
  value: Buffer;
  headers?: Record<string, string>;
}

/** Records per send: well below the broker's 1 MB per partition for rows of this size. */
const maxRecordsPerSend = 1_000;

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

/**
 * The headers of a row sent to the dead-letter topic: the `__connect.errors.*` names Connect's
 * dead-letter queue uses (as the orders sink writes them), with the source's partition and offset
 * (the row's position, in the offsets topic's format) where a sink names topic, partition and offset.
 */
export function sourceDeadLetterHeaders(topic: string, id: number, error: Error): Record<string, string> {
  // Connect's stage for a record its converter refuses: the row does not fit the Customer schema.
  return connectErrorHeaders(customersSourceJob.name, { topic, 'source.partition': JSON.stringify({ table: customersSourceJob.table }), 'source.offset': encodePosition(id) }, 'VALUE_CONVERTER', error);
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
  const deadLetterTopic: TopicSpec = { name: customersSourceJob.deadLetterTopic, partitions: 1, compacted: false, description: 'customers rows that are not valid Customers' };
  await ensureTopics(kafka, [customersTopic, offsetsTopic, deadLetterTopic], { prefix, logger });

  const stopping = new AbortController();
  const state = { ready: false, fenced: false, position: undefined as number | undefined, resumedFrom: undefined as number | undefined, rowsStreamed: 0, deadLetters: 0 };

  /** A valid row goes to `customers`; a row that is not a Customer goes to the dead-letter topic, keyed by its id, as JSON. */
  async function toMessage(row: CustomerRow): Promise<OutgoingMessage> {
    if ('customer' in row) return { topic: names.topic, key: serdes.key.serialize(row.id), value: await serdes.value.serialize(row.customer) };
    return { topic: names.deadLetterTopic, key: serdes.key.serialize(row.id), value: Buffer.from(rowAsJson(row.row)), headers: sourceDeadLetterHeaders(names.topic, row.id, row.error) };
  }

  /**
   * One transaction: the rows (valid ones to `customers`, the others to the dead-letter topic)
   * and the position after them, or nothing at all: a bad row is dead-lettered exactly once.
   */
  async function writeBatch(producer: RecordProducer, rows: CustomerRow[]): Promise<void> {
    const messages = await Promise.all(rows.map(toMessage));
    const lastId = rows[rows.length - 1]!.id;
    messages.push({ topic: names.offsetsTopic, key: Buffer.from(positionKey()), value: Buffer.from(encodePosition(lastId)) });
    try {
      // One send stays under the broker's 1 MB per partition (BATCH_SIZE may be large); the sends
      // follow one another, as the idempotent producer needs, and all belong to the transaction.
      for (let start = 0; start < messages.length; start += maxRecordsPerSend) {
        await producer.send(messages.slice(start, start + maxRecordsPerSend).map(({ topic, key, value, headers }) => ({ topic, key, value, timestamp: Date.now(), ...(headers ? { headers: encodeHeaders(headers) } : {}) })));
      }
      await producer.commit();
    } catch (error) {
      await producer.abort().catch(() => undefined);
      throw error;
    }
    state.position = lastId;
    const bad = rows.filter((row): row is Extract<CustomerRow, { error: Error }> => 'error' in row);
    state.rowsStreamed += rows.length - bad.length;
    state.deadLetters += bad.length;
    for (const row of bad) {
      logger.warn({ table: customersSourceJob.table, id: row.id, error: row.error.message, deadLetterTopic: names.deadLetterTopic }, 'customers row sent to the dead-letter topic');
    }
    logger.info({ rows: rows.length - bad.length, deadLetters: bad.length, firstId: rows[0]!.id, lastId, topic: names.topic }, 'streamed customers');
  }

  /** Connects, fences any older worker, resumes from the stored position and polls until stopped. */
  async function session(): Promise<void> {
    const connections = kafka.connections('customers-source');
    const producer = new RecordProducer(connections, { transactionalId: names.transactionalId, logger });
    try {
      // Taking the producer id fences an older worker and aborts whatever it left open, so the
      // position read next is the last committed one.
      await producer.init();
      state.position = state.resumedFrom = await readStoredPosition(kafka, names.offsetsTopic, names.transactionalId, logger);
      logger.info({ position: state.position ?? null, topic: names.topic }, state.position === undefined ? 'no stored position: streaming every row' : 'resuming after the stored position');
      state.ready = true;
      while (!stopping.signal.aborted) {
        const rows = customerRowsAfter(db, state.position ?? Number.MIN_SAFE_INTEGER, batchSize);
        if (rows.length === 0) await sleep(pollIntervalMs, stopping.signal);
        else await writeBatch(producer, rows);
      }
    } finally {
      state.ready = false;
      await connections.close();
    }
  }

  const running = (async () => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      const streamedBefore = state.rowsStreamed + state.deadLetters;
      try {
        await session();
      } catch (error) {
        if (isFencedError(error)) {
          state.fenced = true;
          logger.error({ transactionalId: names.transactionalId }, 'another customers source with the same transactional id took over; this one stops');
          options.onFenced?.();
          return;
        }
        failures = state.rowsStreamed + state.deadLetters > streamedBefore ? 1 : failures + 1;
        const delay = backoffDelay(failures, { initialMs: 200, maxMs: 30_000 });
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
    get deadLetters() {
      return state.deadLetters;
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
  const ids = errorIds(error);
  return ids.has('INVALID_PRODUCER_EPOCH') || ids.has('PRODUCER_FENCED');
}

/**
 * The last position committed to the offsets topic (read committed, to its end), or undefined
 * when nothing was ever written. Call it only after fencing: no transaction of ours is open then,
 * so the end of what is committed is the end of the partition.
 */
export async function readStoredPosition(kafka: KafkaClients, offsetsTopic: string, readerName: string, logger: Logger, timeoutMs = 30_000): Promise<number | undefined> {
  const admin = kafka.admin();
  const partitions = new Map([[offsetsTopic, [0]]]);
  const [starts, ends] = await Promise.all([beginningOffsets(admin, partitions), endOffsets(admin, partitions, true)]);
  const from = starts.get(offsetsTopic)?.get(0) ?? 0;
  const to = ends.get(offsetsTopic)?.get(0) ?? 0;
  if (to <= from) return undefined;
  // The partition is read from its start by offset, without a consumer group.
  const reader = new TopicReader(kafka, logger, `${readerName}.position`);
  let position: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const read = reader.read([{ topic: offsetsTopic, partition: 0, from, to }], async (_range, records) => {
      for (const record of records) if (record.key?.toString('utf8') === positionKey()) position = decodePosition(record.value) ?? position;
    });
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`could not read ${offsetsTopic} to its end (offset ${to}) within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    await reader.close();
  }
  return position;
}
