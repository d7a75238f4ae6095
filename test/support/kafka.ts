import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

/** Test helpers shared by every workspace's integration tests. */

/** Polls until `probe` returns something other than undefined/false; no fixed sleeps. */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 250);
  }
}

export interface ConsumedRecord {
  partition: number;
  message: KafkaMessage;
}

/**
 * Reads `topic` from the beginning (read committed) until `done` holds for what was read,
 * failing after `timeoutMs` with the number of records seen. The reader's group is deleted.
 */
export async function consumeUntil(kafka: Kafka, topic: string, done: (records: ConsumedRecord[]) => boolean, timeoutMs = 60_000): Promise<ConsumedRecord[]> {
  const groupId = `test-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms reading ${topic}; saw ${records.length} records`)), timeoutMs);
      const check = () => {
        if (done(records)) {
          clearTimeout(timer);
          resolve();
        }
      };
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            records.push({ partition, message });
            check();
          },
        })
        .catch(reject);
      check();
    });
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return records;
}
