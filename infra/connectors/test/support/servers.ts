import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, createSchemaRegistryClient, loadInfrastructureConfig } from '@ecosystem/platform';
import { allPartitions, beginningOffsets, endOffsets, Fetcher, type KafkaClients } from 'kstreams';
import { createElasticsearchClient } from '../../src/elasticsearch.ts';
import type { ConsumedRecord } from '../../../../test/support/kafka.ts';

/** The shared servers and how to reach them (TLS, credentials), read as every process of the project reads them. */
export const settings = loadInfrastructureConfig();
export const brokers = settings.KAFKA_BROKERS;
export const registryUrl = settings.SCHEMA_REGISTRY_URL;
export const elasticsearchUrl = settings.ELASTICSEARCH_URL;

export const quietLogger = createLogger('connectors-test', process.env['TEST_LOG_LEVEL'] === 'debug' ? 'debug' : 'silent');

export function testKafka(): KafkaClients {
  return createKafka({ clientId: 'connectors-test', config: settings, logger: quietLogger });
}

export const testRegistry = () => createSchemaRegistryClient(settings);
export const testElasticsearch = () => createElasticsearchClient(settings);

/** A topic prefix no other test run uses (lower case: it also prefixes Elasticsearch indices). */
export function uniquePrefix(what: string): string {
  return `test-${what}-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}.`;
}

export { consumeUntil, eventually, type ConsumedRecord } from '../../../../test/support/kafka.ts';

/**
 * Every committed record of `topic` (or every record, aborted ones included, with
 * `readUncommitted`), read to the end of each partition; nothing may be writing
 * transactionally to it meanwhile. Read by offset, without a consumer group.
 */
export async function readToEnd(kafka: KafkaClients, topic: string, { readUncommitted = false, timeoutMs = 30_000 } = {}): Promise<ConsumedRecord[]> {
  const admin = kafka.admin();
  const partitions = await allPartitions(admin, [topic]);
  const [starts, ends] = await Promise.all([beginningOffsets(admin, partitions), endOffsets(admin, partitions, false)]);
  const remaining = new Map([...(ends.get(topic) ?? [])].filter(([partition, end]) => end > (starts.get(topic)?.get(partition) ?? 0)));
  if (remaining.size === 0) return [];
  const records: ConsumedRecord[] = [];
  let fetcher: Fetcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const connections = kafka.connections(`connectors-test-reader-${randomUUID()}`);
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out reading ${topic} to its end; saw ${records.length} records`)), timeoutMs);
      const reading = new Fetcher({
        connections,
        role: 'fetch',
        readCommitted: !readUncommitted,
        logger: quietLogger,
        // `nextOffset` moves past transaction markers too, which no record reports.
        onFetched: ({ partition, records: fetched, nextOffset }) => {
          const end = remaining.get(partition);
          if (end === undefined) return;
          for (const record of fetched) if (record.offset < end) records.push({ ...record, topic, partition });
          if (nextOffset >= end) {
            remaining.delete(partition);
            reading.unassign(topic, partition);
          }
          if (remaining.size === 0) resolve();
        },
      });
      fetcher = reading;
      for (const partition of remaining.keys()) reading.assign(topic, partition, starts.get(topic)?.get(partition) ?? 0);
    });
  } finally {
    clearTimeout(timer);
    fetcher?.close();
    await connections.close();
  }
  return records;
}

/** Deletes what a test created under its prefix: topics, consumer groups, registry subjects, Elasticsearch indices. */
export async function cleanUp(kafka: KafkaClients, prefix: string): Promise<void> {
  const admin = kafka.admin();
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  const groups = [...(await admin.listGroups()).keys()].filter((group) => group.startsWith(prefix));
  if (groups.length > 0) await admin.deleteGroups({ groups }).catch(() => undefined);
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
