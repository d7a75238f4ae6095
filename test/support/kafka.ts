import { allPartitions, beginningOffsets, TopicReader, type FetchedRecord, type KafkaClients } from '@ecosystem/streams';

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

export interface ConsumedRecord extends FetchedRecord {
  topic: string;
  partition: number;
}

/**
 * Reads `topic` from the beginning (read committed) until `done` holds for what was read,
 * failing after `timeoutMs` with the number of records seen. No consumer group is involved.
 */
export async function consumeUntil(clients: KafkaClients, topic: string, done: (records: ConsumedRecord[]) => boolean, timeoutMs = 60_000): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  const admin = clients.admin();
  const partitions = await allPartitions(admin, [topic]);
  if (!partitions.has(topic)) throw new Error(`topic ${topic} does not exist`);
  const starts = await beginningOffsets(admin, partitions);
  const reader = new TopicReader(clients, { debug() {}, info() {}, warn() {}, error() {} }, `test-${topic}`);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms reading ${topic}; saw ${records.length} records`)), timeoutMs);
      const check = () => {
        if (done(records)) {
          clearTimeout(timer);
          resolve();
        }
      };
      reader.follow(
        partitions.get(topic)!.map((partition) => ({ topic, partition, from: starts.get(topic)?.get(partition) ?? 0 })),
        async (range, fetched) => {
          for (const record of fetched) records.push({ ...record, topic, partition: range.partition });
          check();
        },
      );
      check();
    });
  } finally {
    await reader.close();
  }
  return records;
}
