import { Topics } from '@ecosystem/avro';
import { waitForLeaders } from '@ecosystem/streams';
import type { Admin, ITopicConfig } from 'kafkajs';
import type { Logger } from './logger.ts';

/**
 * Every topic of the system in one declarative list (DESIGN.md section 2). Topics holding
 * the latest value per key (tables) are compacted; event logs keep the broker's retention.
 * The streams runtime declares its own internal changelog and repartition topics.
 */
export interface TopicSpec {
  name: string;
  partitions: number;
  compacted: boolean;
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
 * Creates the topics that are missing; leaves existing ones alone, but warns when an
 * existing topic has fewer partitions than declared, because key ownership (and so the
 * co-partitioning of joins) would silently differ from what the services assume.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly TopicSpec[],
  { replicationFactor, logger, prefix = '' }: EnsureTopicsOptions = {},
): Promise<string[]> {
  topics = topics.map((topic) => ({ ...topic, name: `${prefix}${topic.name}` }));
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic.name));
  if (missing.length > 0) {
    // Another process may create the same topics at the same moment: that is fine.
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((topic): ITopicConfig => ({
        topic: topic.name,
        numPartitions: topic.partitions,
        // Left out, the broker's default applies: the same code serves one broker and a cluster.
        ...(replicationFactor !== undefined ? { replicationFactor } : {}),
        configEntries: topic.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
      })),
    }).catch((error: unknown) => {
      if (!/already exists/i.test(String((error as { errors?: unknown[] }).errors?.map(String) ?? error))) throw error;
    });
    await waitForLeaders(admin, missing.map((topic) => topic.name));
    logger?.info({ topics: missing.map((topic) => topic.name) }, 'created topics');
  }
  const present = topics.filter((topic) => existing.has(topic.name));
  if (present.length > 0) {
    const metadata = await admin.fetchTopicMetadata({ topics: present.map((topic) => topic.name) });
    for (const topic of present) {
      const actual = metadata.topics.find((candidate) => candidate.name === topic.name)?.partitions.length ?? 0;
      if (actual < topic.partitions) {
        logger?.warn(
          { topic: topic.name, declared: topic.partitions, actual },
          'topic has fewer partitions than declared; delete it or add partitions',
        );
      }
    }
  }
  return missing.map((topic) => topic.name);
}
