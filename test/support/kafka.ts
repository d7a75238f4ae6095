import { allPartitions, beginningOffsets, TopicReader, type FetchedRecord, type KafkaClients } from '@ecosystem/streams';

/** Test helpers shared by every workspace's integration tests. */

export { eventually } from './eventually.ts';

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
