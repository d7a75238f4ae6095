import { randomUUID } from 'node:crypto';
import { createSchemaRegistry, defaultSchemaRegistryUrl } from '@ecosystem/avro';
import { createKafka, createLogger } from '@ecosystem/platform';
import { createElasticsearchClient } from '../../src/elasticsearch.ts';
import type { Kafka } from 'kafkajs';
import type { ConsumedRecord } from '../../../../test/support/kafka.ts';

export const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
export const registryUrl = process.env['SCHEMA_REGISTRY_URL'] ?? defaultSchemaRegistryUrl;
export const elasticsearchUrl = process.env['ELASTICSEARCH_URL'] ?? 'http://127.0.0.1:9200';

export const quietLogger = createLogger('connectors-test', process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent');

export function testKafka(): Kafka {
  return createKafka({ clientId: 'connectors-test', brokers, logger: quietLogger });
}

export const testRegistry = () => createSchemaRegistry(registryUrl);
export const testElasticsearch = () => createElasticsearchClient(elasticsearchUrl);

/** A topic prefix no other test run uses (lower case: it also prefixes Elasticsearch indices). */
export function uniquePrefix(what: string): string {
  return `test-${what}-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}.`;
}

export { consumeUntil, eventually, type ConsumedRecord } from '../../../../test/support/kafka.ts';

/**
 * Every committed record of `topic` (or every record, aborted ones included, with
 * `readUncommitted`), read to the end of each partition; nothing may be writing
 * transactionally to it meanwhile.
 */
export async function readToEnd(kafka: Kafka, topic: string, { readUncommitted = false, timeoutMs = 30_000 } = {}): Promise<ConsumedRecord[]> {
  const offsets = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
  const remaining = new Map(offsets.filter(({ high, low }) => high !== low).map(({ partition, high }) => [partition, Number(high) - 1]));
  if (remaining.size === 0) return [];
  const groupId = `connectors-test-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, readUncommitted });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out reading ${topic} to its end; saw ${records.length} records`)), timeoutMs);
      // Batch ends report the last offset even for batches of transaction markers only.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const last = remaining.get(payload.partition);
        if (last !== undefined && Number(payload.lastOffset) >= last) remaining.delete(payload.partition);
        if (remaining.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => {
        records.push({ partition, message });
      } }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await withAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
  return records;
}

export async function withAdmin<T>(kafka: Kafka, action: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await action(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes what a test created under its prefix: topics, consumer groups, registry subjects, Elasticsearch indices. */
export async function cleanUp(kafka: Kafka, prefix: string): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter((group) => group.startsWith(prefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  });
  const subjects = (await (await fetch(`${registryUrl}/subjects`)).json()) as string[];
  for (const subject of subjects.filter((name) => name.startsWith(prefix))) {
    await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE' });
    await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}?permanent=true`, { method: 'DELETE' });
  }
  const elasticsearch = testElasticsearch();
  try {
    const indices = await elasticsearch.cat.indices({ index: `${prefix}*`, format: 'json' });
    for (const { index } of indices) if (index) await elasticsearch.indices.delete({ index });
  } finally {
    await elasticsearch.close();
  }
}
