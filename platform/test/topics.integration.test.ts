import { partitionCounts } from 'kstreams';
import { ConfigResourceTypes } from '@platformatic/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../src/kafka.ts';
import { createLogger } from '../src/logger.ts';
import { ensureTopics, systemTopics, type TopicSpec } from '../src/topics.ts';
import { loadInfrastructureConfig } from '../src/config.ts';

const config = loadInfrastructureConfig();
const logger = createLogger('topics-test', 'silent');
const kafka = createKafka({ clientId: 'topics-test', config, logger });
const stamp = Date.now();
const testTopics: TopicSpec[] = [
  { name: `topics-test-log-${stamp}`, partitions: 3, compacted: false, description: 'a log' },
  { name: `topics-test-table-${stamp}`, partitions: 2, compacted: true, description: 'a table' },
];

afterAll(async () => {
  await kafka.admin().deleteTopics({ topics: testTopics.map((topic) => topic.name) });
  await kafka.close();
});

describe('ensureTopics', () => {
  it('creates missing topics with their partitions and cleanup policy, and is idempotent', async () => {
    expect(await ensureTopics(kafka, testTopics, { logger })).toEqual(testTopics.map((topic) => topic.name));
    expect(await ensureTopics(kafka, testTopics, { logger })).toEqual([]);

    const admin = kafka.admin();
    const partitions = Object.fromEntries(await partitionCounts(admin, testTopics.map((topic) => topic.name)));
    expect(partitions).toEqual({ [testTopics[0]!.name]: 3, [testTopics[1]!.name]: 2 });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: testTopics.map((topic) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic.name, configurationKeys: ['cleanup.policy'] })),
    });
    const policies = Object.fromEntries(configs.map((resource) => [resource.resourceName, resource.configs[0]?.value]));
    expect(policies).toEqual({ [testTopics[0]!.name]: 'delete', [testTopics[1]!.name]: 'compact' });
  });

  it('declares every topic of the design with 3 partitions', () => {
    expect(systemTopics.map((topic) => topic.name)).toEqual([
      'orders.v1',
      'order-validations.v1',
      'warehouse-inventory.v1',
      'payments.v1',
      'customers',
      'orders-enriched.v1',
      'platinum',
      'gold',
      'silver',
      'bronze',
    ]);
    expect(systemTopics.every((topic) => topic.partitions === 3)).toBe(true);
  });
});
