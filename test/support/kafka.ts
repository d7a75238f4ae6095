import { allPartitions, beginningOffsets, endOffsets, TopicReader, type FetchedRecord, type KafkaClients } from 'kstreams';

/** Test helpers shared by every workspace's integration tests. */

export { eventually } from './eventually.ts';

export interface ConsumedRecord extends FetchedRecord {
  topic: string;
  partition: number;
}

/**
 * Reads `topic` from the beginning (read committed, no consumer group) until `done` holds for
 * what was read, and then on to where every partition ended at that moment: a duplicate written
 * after the records `done` waited for is seen too, before anything is asserted. `convert` turns
 * each record into what is kept (undefined: skipped). Fails after `timeoutMs`, with the number of
 * records seen.
 */
export async function readTopicUntil<T>(
  clients: KafkaClients,
  topic: string,
  convert: (record: ConsumedRecord) => T | undefined | Promise<T | undefined>,
  done: (records: T[]) => boolean,
  options: { timeoutMs?: number; name?: string } = {},
): Promise<T[]> {
  const { timeoutMs = 60_000, name = `test-${topic}` } = options;
  const records: T[] = [];
  const admin = clients.admin();
  const partitions = await allPartitions(admin, [topic]);
  if (!partitions.has(topic)) throw new Error(`topic ${topic} does not exist`);
  const starts = await beginningOffsets(admin, partitions);
  const positions = new Map(partitions.get(topic)!.map((partition) => [partition, starts.get(topic)?.get(partition) ?? 0]));
  let ends: Map<number, number> | undefined;
  const reader = new TopicReader(clients, { debug() {}, info() {}, warn() {}, error() {} }, name);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms reading ${topic}; saw ${records.length} records`)), timeoutMs);
      let checking = false;
      const check = async () => {
        if (checking) return;
        checking = true;
        try {
          if (!ends && done(records)) ends = (await endOffsets(admin, partitions, true)).get(topic) ?? new Map();
          if (ends && [...ends].every(([partition, end]) => (positions.get(partition) ?? 0) >= end)) {
            clearTimeout(timer);
            resolve();
          }
        } catch (error) {
          reject(error);
        } finally {
          checking = false;
        }
      };
      reader.follow(
        [...positions].map(([partition, from]) => ({ topic, partition, from })),
        async (range, fetched, nextOffset) => {
          for (const record of fetched) {
            const kept = await convert({ ...record, topic, partition: range.partition });
            if (kept !== undefined) records.push(kept);
          }
          positions.set(range.partition, nextOffset);
          await check();
        },
      );
      void check();
    });
  } finally {
    await reader.close();
  }
  return records;
}

/** Every record of `topic` until `done` holds, and on to the topic's end at that moment (see readTopicUntil). */
export function consumeUntil(clients: KafkaClients, topic: string, done: (records: ConsumedRecord[]) => boolean, timeoutMs = 60_000): Promise<ConsumedRecord[]> {
  return readTopicUntil(clients, topic, (record) => record, done, { timeoutMs });
}
