import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { avroValueSerde } from './avro-serde.ts';
import type { AvroRecordName, Customer, Order, OrderEnriched, OrderValidation, Payment } from './generated/types.ts';
import { registerSchema, valueSubject } from './registry.ts';
import { recordSchema } from './schemas.ts';
import { intSerde, longSerde, stringSerde } from './primitive-serdes.ts';
import type { AsyncSerde, Serde, SyncSerde } from './serdes.ts';

/** The topics of DESIGN.md section 2 (internal changelog / repartition topics belong to the runtime). */
export const Topics = {
  orders: 'orders.v1',
  orderValidations: 'order-validations.v1',
  warehouseInventory: 'warehouse-inventory.v1',
  payments: 'payments.v1',
  customers: 'customers',
  ordersEnriched: 'orders-enriched.v1',
  platinum: 'platinum',
  gold: 'gold',
  silver: 'silver',
  bronze: 'bronze',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

export const customerLevels = ['platinum', 'gold', 'silver', 'bronze'] as const;
export type CustomerLevel = (typeof customerLevels)[number];

export function isCustomerLevel(level: string): level is CustomerLevel {
  return (customerLevels as readonly string[]).includes(level);
}

/** Enriched orders are routed to the topic named after the customer's level. */
export function customerLevelTopic(level: CustomerLevel): TopicName {
  return Topics[level];
}

/** Keys are synchronous everywhere so that partitioning never waits on the registry. */
export interface KeyValueSerdes<K, V, ValueSerde extends Serde<V> = Serde<V>> {
  /** The topic's name on the cluster: the design's name behind the deployment's prefix. */
  topic: string;
  key: SyncSerde<K>;
  value: ValueSerde;
}

type AvroValued<K, V> = KeyValueSerdes<K, V, AsyncSerde<V>>;

export interface TopicSerdes {
  'orders.v1': AvroValued<string, Order>;
  'order-validations.v1': AvroValued<string, OrderValidation>;
  'warehouse-inventory.v1': KeyValueSerdes<string, number, SyncSerde<number>>;
  'payments.v1': AvroValued<string, Payment>;
  customers: AvroValued<number, Customer>;
  'orders-enriched.v1': AvroValued<string, OrderEnriched>;
  platinum: AvroValued<string, OrderEnriched>;
  gold: AvroValued<string, OrderEnriched>;
  silver: AvroValued<string, OrderEnriched>;
  bronze: AvroValued<string, OrderEnriched>;
}

export interface TopicOptions {
  /**
   * Put in front of every topic name (and so of every subject): several independent copies
   * of the system can share one cluster, e.g. parallel test runs. Empty by default.
   */
  prefix?: string;
}

/**
 * The key and value serde of every topic, so services never pick byte formats by hand. Build it once
 * per process: each Avro serde caches its schema id and writer-schema resolvers.
 */
export function topicSerdes(registry: SchemaRegistry, options: TopicOptions = {}): TopicSerdes {
  const name = (topic: TopicName) => `${options.prefix ?? ''}${topic}`;
  const stringKeyed = <ValueSerde>(topic: TopicName, value: ValueSerde) => ({ topic: name(topic), key: stringSerde, value });
  const avro = <N extends AvroRecordName>(topic: TopicName, record: N) => avroValueSerde(registry, name(topic), record);
  const enriched = (topic: TopicName): AvroValued<string, OrderEnriched> => stringKeyed(topic, avro(topic, 'OrderEnriched'));
  return {
    [Topics.orders]: stringKeyed(Topics.orders, avro(Topics.orders, 'Order')),
    [Topics.orderValidations]: stringKeyed(Topics.orderValidations, avro(Topics.orderValidations, 'OrderValidation')),
    [Topics.warehouseInventory]: stringKeyed(Topics.warehouseInventory, intSerde),
    [Topics.payments]: stringKeyed(Topics.payments, avro(Topics.payments, 'Payment')),
    [Topics.customers]: { topic: name(Topics.customers), key: longSerde, value: avro(Topics.customers, 'Customer') },
    [Topics.ordersEnriched]: enriched(Topics.ordersEnriched),
    [Topics.platinum]: enriched(Topics.platinum),
    [Topics.gold]: enriched(Topics.gold),
    [Topics.silver]: enriched(Topics.silver),
    [Topics.bronze]: enriched(Topics.bronze),
  };
}

/** The Avro record on each Avro-valued topic (the others carry plain bytes). */
export const topicValueRecords = {
  [Topics.orders]: 'Order',
  [Topics.orderValidations]: 'OrderValidation',
  [Topics.payments]: 'Payment',
  [Topics.customers]: 'Customer',
  [Topics.ordersEnriched]: 'OrderEnriched',
  [Topics.platinum]: 'OrderEnriched',
  [Topics.gold]: 'OrderEnriched',
  [Topics.silver]: 'OrderEnriched',
  [Topics.bronze]: 'OrderEnriched',
} as const satisfies Partial<Record<TopicName, AvroRecordName>>;

/**
 * Registers the value schema of every Avro topic under `<topic>-value`, so that tools reading
 * the topics (Connect, ksqlDB, read-topics) find the subjects before the first record is written.
 */
export async function registerTopicSchemas(registry: SchemaRegistry, options: TopicOptions = {}): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const [topic, record] of Object.entries(topicValueRecords)) {
    const subject = valueSubject(`${options.prefix ?? ''}${topic}`);
    ids[subject] = await registerSchema(registry, subject, recordSchema(record).json);
  }
  return ids;
}
