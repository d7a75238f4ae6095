import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, kafkaConfig, loadConfig } from '@ecosystem/platform';
import { createTopics as createTopicsOnBroker, type KafkaClients } from '../../src/index.ts';

/** The shared broker and how to reach it (KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL...), read by the project's one configuration loader. */
const settings = loadConfig(kafkaConfig);
export const brokers = settings.KAFKA_BROKERS;

export function testClients(clientId = 'streams-test'): KafkaClients {
  return createKafka({ clientId, config: settings, logger: createLogger(clientId, 'silent') });
}

const issuedNames: string[] = [];

/** A name no earlier test run used, so tests never see each other's topics, groups or state. */
export function unique(prefix: string): string {
  const name = `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  issuedNames.push(name);
  return name;
}

export async function createTopics(clients: KafkaClients, topics: Array<{ name: string; partitions: number; compacted?: boolean }>): Promise<void> {
  await createTopicsOnBroker(
    clients.admin(),
    topics.map((topic) => ({ name: topic.name, partitions: topic.partitions, compacted: topic.compacted ?? false })),
  );
}

export async function produce(clients: KafkaClients, topic: string, messages: Array<{ key: Buffer | string | null; value: Buffer | string | null; timestamp?: number }>): Promise<void> {
  const producer = clients.producer();
  try {
    for (let start = 0; start < messages.length; start += 1_000) {
      await producer.send({
        messages: messages.slice(start, start + 1_000).map((message) => ({
          topic,
          ...(message.key !== null ? { key: Buffer.from(message.key) } : {}),
          ...(message.value !== null ? { value: Buffer.from(message.value) } : {}),
          ...(message.timestamp !== undefined ? { timestamp: BigInt(message.timestamp) } : {}),
        })),
      });
    }
  } finally {
    await producer.close();
  }
}

export { consumeUntil, eventually, type ConsumedRecord } from '../../../test/support/kafka.ts';

/** Deletes the topics this test file made: its unique names, and internal topics named after its application ids. */
export async function deleteTestTopics(clients: KafkaClients = testClients('cleanup')): Promise<void> {
  const admin = clients.admin();
  const topics = (await admin.listTopics()).filter((topic) => issuedNames.some((name) => topic.startsWith(name)));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  await clients.close();
}
