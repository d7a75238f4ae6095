import { Topics } from '@ecosystem/avro';
import { createTopics, partitionCounts, type KafkaClients, type TopicSpec as StreamsTopicSpec } from 'kstreams';
import type { Logger } from './logger.ts';

/**
 * Every topic of the system in one declarative list (DESIGN.md section 2). Topics holding
 * the latest value per key (tables) are compacted; event logs keep the broker's retention.
 * The streams runtime declares its own internal changelog and repartition topics.
 */
export interface TopicSpec extends StreamsTopicSpec {
  /** What the topic holds, for `read-topics` and humans. */
  description: string;
}

const defaultPartitions = 3;

function eventLog(name: string, description: string): TopicSpec {
  return { name, partitions: defaultPartitions, compacted: false, description };
}

function table(name: string, description: string): TopicSpec {
  return { name, partitions: defaultPartitions, compacted: true, description };
}

export const systemTopics: readonly TopicSpec[] = [
  eventLog(Topics.orders, 'every state of every order (CREATED, then VALIDATED or FAILED)'),
  eventLog(Topics.orderValidations, 'PASS/FAIL results of the inventory, fraud and order-details checks'),
  table(Topics.warehouseInventory, 'stock per product (4-byte big-endian int)'),
  eventLog(Topics.payments, 'payments for orders'),
  table(Topics.customers, 'customers from the SQLite database (8-byte big-endian long keys)'),
  eventLog(Topics.ordersEnriched, 'orders joined with their customer'),
  eventLog(Topics.platinum, 'enriched orders of platinum customers'),
  eventLog(Topics.gold, 'enriched orders of gold customers'),
  eventLog(Topics.silver, 'enriched orders of silver customers'),
  eventLog(Topics.bronze, 'enriched orders of bronze customers'),
];

export interface EnsureTopicsOptions {
  /** Default: the broker's default.replication.factor (1 on one broker, 3 on the local three-broker cluster). */
  replicationFactor?: number;
  logger?: Logger;
  /** Put in front of every name (see TOPIC_PREFIX). */
  prefix?: string;
}

/**
 * Creates the topics that are missing (through the runtime's internal topic manager, which
 * the services' own topics go through too); leaves existing ones alone, but warns when an
 * existing topic has fewer partitions than declared, because key ownership (and so the
 * co-partitioning of joins) would silently differ from what the services assume.
 */
export async function ensureTopics(
  clients: KafkaClients,
  topics: readonly TopicSpec[],
  { replicationFactor, logger, prefix = '' }: EnsureTopicsOptions = {},
): Promise<string[]> {
  const specs = topics.map((topic) => ({ ...topic, name: `${prefix}${topic.name}`, ...(replicationFactor !== undefined ? { replicationFactor } : {}) }));
  const admin = clients.admin();
  const created = await createTopics(admin, specs);
  if (created.length > 0) logger?.info({ topics: created }, 'created topics');
  const counts = await partitionCounts(admin, specs.filter((spec) => !created.includes(spec.name)).map((spec) => spec.name));
  for (const spec of specs) {
    const actual = counts.get(spec.name);
    if (actual !== undefined && actual < spec.partitions) {
      logger?.warn({ topic: spec.name, declared: spec.partitions, actual }, 'topic has fewer partitions than declared; delete it or add partitions');
    }
  }
  return created;
}
