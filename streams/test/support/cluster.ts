import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function testKafka(clientId = 'streams-test'): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
}

const issuedNames: string[] = [];

/** A name no earlier test run used, so tests never see each other's topics, groups or state. */
export function unique(prefix: string): string {
  const name = `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  issuedNames.push(name);
  return name;
}

export async function withAdmin<T>(kafka: Kafka, action: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await action(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopics(kafka: Kafka, topics: Array<{ name: string; partitions: number; compacted?: boolean }>): Promise<void> {
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic: topic.name, numPartitions: topic.partitions, configEntries: topic.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [] })),
    }),
  );
}

export async function produce(kafka: Kafka, topic: string, messages: Array<{ key: Buffer | string | null; value: Buffer | string | null; timestamp?: number }>): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let start = 0; start < messages.length; start += 1_000) {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.slice(start, start + 1_000).map((message) => ({ key: message.key, value: message.value, ...(message.timestamp !== undefined ? { timestamp: String(message.timestamp) } : {}) })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

export { consumeUntil, eventually, type ConsumedRecord } from '../../../test/support/kafka.ts';


/** Deletes the topics this test file made: its unique names, and internal topics named after its application ids. */
export async function deleteTestTopics(kafka: Kafka = testKafka('cleanup')): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    const topics = (await admin.listTopics()).filter((topic) => issuedNames.some((name) => topic.startsWith(name)));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  });
}
