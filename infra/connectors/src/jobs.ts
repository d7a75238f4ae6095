import { Topics, valueSubject, type AvroRecordName, type Customer, type Order } from '@ecosystem/avro';

/**
 * What the two Kafka Connect jobs do, said once. The local workers are built from these
 * descriptions, and `connect-configs.ts` checks the Connect JSON files against them, so the
 * Connect worker in docker-compose and the local workers cannot drift apart.
 */

/** The JDBC source in incrementing mode: every row of `table` with a larger `id` than the last one written. */
export const customersSourceJob = {
  /** The connector's name in Connect; also names its offsets topic and transactional id. */
  name: 'jdbc-source-customers',
  table: 'customers',
  incrementingColumn: 'id',
  /** Column → field of the value record, in the record's field order. Connect renames with ReplaceField. */
  columns: {
    id: 'id',
    first_name: 'firstName',
    last_name: 'lastName',
    email: 'email',
    address: 'address',
    level: 'level',
  } as const satisfies Record<string, keyof Customer>,
  topic: Topics.customers,
  /** The key is the incrementing column as an 8-byte big-endian signed long (Connect: ValueToKey, ExtractField, Cast int64, LongConverter). */
  keyType: 'int64',
  valueRecord: 'Customer' satisfies AvroRecordName,
  subject: valueSubject(Topics.customers),
  /**
   * Where the position (the last id written) lives: a compacted topic written in the same
   * transaction as the records, as Connect's exactly-once source support does with a
   * connector-specific offsets topic.
   */
  offsetsTopic: 'jdbc-source-customers.offsets',
  /**
   * Rows that are not valid Customers (a NULL, a wrong type, an unknown level), keyed by id, the
   * row as JSON, with the reason in Connect's `__connect.errors.*` headers; written in the batch's
   * transaction, so the position moves past a bad row exactly once. (Connect has no dead-letter
   * queue for source connectors: with `errors.tolerance=all` it logs and skips such a record.)
   */
  deadLetterTopic: 'jdbc-source-customers.dlq',
  pollIntervalMs: 1_000,
} as const;

export type ElasticsearchFieldType = 'keyword' | 'long' | 'integer' | 'double';

/** The Elasticsearch sink: every record of `topic` indexed as a document whose id is the record key. */
export const ordersSinkJob = {
  name: 'elasticsearch-sink-orders',
  topic: Topics.orders,
  /** Connect names the index after the topic. */
  index: Topics.orders,
  /** The document id is the record key (key.ignore=false), so the index holds each order's latest state. */
  documentId: 'key',
  keyType: 'string',
  valueRecord: 'Order' satisfies AvroRecordName,
  /**
   * Documents carry the Kafka offset as an external version: a replayed or older record never
   * overwrites a newer state (what Connect's sink does with key.ignore=false and write.method insert).
   */
  writeMethod: 'insert',
  /** A tombstone (null value) deletes the order's document. */
  onNullValue: 'delete',
  /** The explicit mapping (DESIGN.md); Connect is told to ignore the Avro schema and use it. */
  mapping: {
    id: 'keyword',
    customerId: 'long',
    state: 'keyword',
    product: 'keyword',
    quantity: 'integer',
    price: 'double',
  } as const satisfies Record<keyof Order, ElasticsearchFieldType>,
  deadLetterTopic: 'elasticsearch-sink-orders.dlq',
} as const;

/** The real names of the source's topics and ids behind a deployment's prefix (TOPIC_PREFIX). */
export function customersSourceNames(prefix = '') {
  return {
    topic: `${prefix}${customersSourceJob.topic}`,
    subject: `${prefix}${customersSourceJob.subject}`,
    offsetsTopic: `${prefix}${customersSourceJob.offsetsTopic}`,
    deadLetterTopic: `${prefix}${customersSourceJob.deadLetterTopic}`,
    /** Fixed per job: a restarted worker fences the one it replaces. */
    transactionalId: `${prefix}${customersSourceJob.name}`,
  };
}

export function ordersSinkNames(prefix = '') {
  return {
    topic: `${prefix}${ordersSinkJob.topic}`,
    /** Elasticsearch index names are lower case; Connect lower-cases the topic name too. */
    index: `${prefix}${ordersSinkJob.index}`.toLowerCase(),
    deadLetterTopic: `${prefix}${ordersSinkJob.deadLetterTopic}`,
    /** Connect's sink tasks consume in the group `connect-<connector name>`. */
    groupId: `${prefix}connect-${ordersSinkJob.name}`,
  };
}
