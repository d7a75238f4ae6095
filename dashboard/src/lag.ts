import { allPartitions, beginningOffsets, endOffsets, type KafkaClients } from 'kstreams';
import type { ServiceLag } from './snapshot.ts';

type Admin = ReturnType<KafkaClients['admin']>;

/** The services whose consumer groups the dashboard watches: every stream-processing service of `npm start`. */
export const watchedServices = [
  'orders-service',
  'inventory-service',
  'fraud-service',
  'order-details-service',
  'validation-aggregator',
  'order-enrichment',
  'email-service',
] as const;

export interface CommittedOffsets {
  topic: string;
  partitions: Array<{ partition: number; offset: string }>;
}

export interface PartitionEnds {
  partition: number;
  /** The high watermark: the offset the next record will get. */
  high: string;
  low: string;
}

/**
 * How far a group is behind: for each partition it committed, the high watermark minus the
 * committed offset (from the log start when it committed nothing there). A transaction's
 * commit marker takes an offset too, so an idle exactly-once group can show a lag of up to
 * one per partition. Null when the group committed nothing at all (not started, or unknown).
 */
export function lagOf(committed: readonly CommittedOffsets[], ends: ReadonlyMap<string, readonly PartitionEnds[]>): number | null {
  let lag = 0;
  let known = false;
  for (const { topic, partitions } of committed) {
    for (const { partition, offset } of partitions) {
      const end = ends.get(topic)?.find((candidate) => candidate.partition === partition);
      if (!end) continue;
      const position = Number(offset) >= 0 ? Number(offset) : undefined;
      if (position !== undefined) known = true;
      lag += Math.max(0, Number(end.high) - (position ?? Number(end.low)));
    }
  }
  return known ? lag : null;
}

/** The lag of each service's group (`${prefix}${service}`, the streams application id). */
export async function fetchLag(admin: Admin, prefix: string, services: readonly string[] = watchedServices): Promise<ServiceLag[]> {
  // Every topic each group committed offsets for (a group id alone asks for all of them).
  const groups = await admin.listConsumerGroupOffsets({ groups: services.map((service) => `${prefix}${service}`) });
  const committedByService = services.map((service) => {
    const groupId = `${prefix}${service}`;
    const topics = groups.find((group) => group.groupId === groupId)?.topics ?? [];
    const committed: CommittedOffsets[] = topics.map(({ name, partitions }) => ({
      topic: name,
      partitions: partitions.map(({ partitionIndex, committedOffset }) => ({ partition: partitionIndex, offset: String(committedOffset) })),
    }));
    return { service, groupId, committed };
  });
  // A topic deleted since the group committed (an old repartition topic) is left out here and simply counts for nothing.
  const partitions = await allPartitions(admin, [...new Set(committedByService.flatMap(({ committed }) => committed.map(({ topic }) => topic)))]);
  const [lows, highs] = await Promise.all([beginningOffsets(admin, partitions), endOffsets(admin, partitions, false)]);
  const ends = new Map<string, PartitionEnds[]>(
    [...highs].map(([topic, byPartition]) => [
      topic,
      [...byPartition].map(([partition, high]) => ({ partition, high: String(high), low: String(lows.get(topic)?.get(partition) ?? 0) })),
    ]),
  );
  return committedByService.map(({ service, groupId, committed }) => ({ service, groupId, lag: lagOf(committed, ends) }));
}
