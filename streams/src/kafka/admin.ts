import { ConfigResourceTypes, FetchIsolationLevels, ListOffsetTimestamps, type Admin } from '@platformatic/kafka';
import { errorIds, isRetriable } from './errors.ts';
import { backoffDelay, retry, sleep } from './retry.ts';

/** A topic of the system or of an application, as the internal topic manager creates it. */
export interface TopicSpec {
  name: string;
  partitions: number;
  compacted: boolean;
  /** Default: the broker's default.replication.factor (1 on one broker, 3 on the local cluster). */
  replicationFactor?: number;
}

export type PartitionOffsets = Map<number, number>;

const notYetKnown = (error: unknown) => isRetriable(error) || errorIds(error).has('UNKNOWN_TOPIC_OR_PARTITION') || /unknown topic/i.test(String(error));

/** Partition counts of existing topics; topics that do not exist are left out. */
export async function partitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics({ includeInternals: false }));
  const wanted = topics.filter((topic) => existing.has(topic));
  if (wanted.length === 0) return new Map();
  const metadata = await retry(() => admin.metadata({ topics: [...wanted], forceUpdate: true }), { retriable: notYetKnown, timeoutMs: 30_000 });
  return new Map(wanted.map((topic) => [topic, metadata.topics.get(topic)?.partitionsCount ?? 0]));
}

/**
 * Creates the topics that are missing and waits until every partition has a leader. Another
 * process creating the same topic at the same moment is fine. Returns the names created.
 */
export async function createTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics({ includeInternals: false }));
  const missing = specs.filter((spec) => !existing.has(spec.name));
  for (const spec of missing) {
    await admin
      .createTopics({
        topics: [spec.name],
        partitions: spec.partitions,
        ...(spec.replicationFactor !== undefined ? { replicas: spec.replicationFactor } : {}),
        configs: spec.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
      })
      .catch((error: unknown) => {
        if (!errorIds(error).has('TOPIC_ALREADY_EXISTS')) throw error;
      });
  }
  if (missing.length > 0) await waitForLeaders(admin, missing.map((spec) => spec.name));
  return missing.map((spec) => spec.name);
}

/** Polls until every partition of the topics has a leader (new topics take a moment). */
export async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  await retry(
    async () => {
      const metadata = await admin.metadata({ topics: [...topics], forceUpdate: true });
      const ready = topics.every((topic) => {
        const partitions = metadata.topics.get(topic)?.partitions ?? [];
        return partitions.length > 0 && partitions.every((partition) => partition.leader >= 0);
      });
      if (!ready) throw new Error(`topics ${topics.join(', ')} have no leaders yet`);
    },
    { initialDelayMs: 50, maxDelayMs: 500, timeoutMs },
  );
}

async function listOffsets(admin: Admin, topics: ReadonlyMap<string, readonly number[]>, timestamp: bigint, readCommitted: boolean): Promise<Map<string, PartitionOffsets>> {
  const result = new Map<string, PartitionOffsets>();
  if (topics.size === 0) return result;
  const listed = await retry(
    () =>
      admin.listOffsets({
        topics: [...topics].map(([name, partitions]) => ({ name, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) })),
        isolationLevel: readCommitted ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED,
      }),
    { retriable: notYetKnown, timeoutMs: 30_000 },
  );
  for (const topic of listed) result.set(topic.name, new Map(topic.partitions.map((partition) => [partition.partitionIndex, Number(partition.offset)])));
  return result;
}

/**
 * Where each partition ends: the last stable offset when reading committed records (an open
 * transaction ends it early), the high watermark otherwise.
 */
export function endOffsets(admin: Admin, topics: ReadonlyMap<string, readonly number[]>, readCommitted = true): Promise<Map<string, PartitionOffsets>> {
  return listOffsets(admin, topics, ListOffsetTimestamps.LATEST, readCommitted);
}

/**
 * The last stable offsets of partitions that only a task's owner writes (its changelogs), once no
 * transaction is open on them: each one's last stable offset has reached its high watermark.
 * A committed transaction's markers reach its partitions one by one, so the group's offsets
 * can be stable (KIP-447) while a changelog still waits for its marker; restoring to that
 * changelog's last stable offset would miss the transaction's store changes while its input
 * counts as consumed. After `timeoutMs` (an abandoned transaction the broker has not timed out
 * yet), the offsets as they are, with the partitions still unsettled.
 */
export async function settledEndOffsets(admin: Admin, topics: ReadonlyMap<string, readonly number[]>, timeoutMs = 30_000): Promise<{ ends: Map<string, PartitionOffsets>; unsettled: string[] }> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    const [stable, watermarks] = await Promise.all([endOffsets(admin, topics, true), endOffsets(admin, topics, false)]);
    const unsettled: string[] = [];
    for (const [topic, partitions] of stable) for (const [partition, offset] of partitions) if (offset < (watermarks.get(topic)?.get(partition) ?? 0)) unsettled.push(`${topic}-${partition}`);
    if (unsettled.length === 0 || Date.now() >= deadline) return { ends: stable, unsettled };
    await sleep(backoffDelay(attempt, { initialMs: 20, maxMs: 500 }));
  }
}

/** The first offset still in each partition (retention or compaction may have removed older ones). */
export function beginningOffsets(admin: Admin, topics: ReadonlyMap<string, readonly number[]>): Promise<Map<string, PartitionOffsets>> {
  return listOffsets(admin, topics, ListOffsetTimestamps.EARLIEST, false);
}

/** Every partition of the topics, for the offset helpers. */
export async function allPartitions(admin: Admin, topics: readonly string[]): Promise<Map<string, number[]>> {
  const counts = await partitionCounts(admin, topics);
  return new Map([...counts].map(([topic, count]) => [topic, Array.from({ length: count }, (_, partition) => partition)]));
}

/**
 * The group's committed offsets of the partitions (absent: nothing committed). With
 * `requireStable` the broker answers only once no transaction holding offsets for them is
 * open (KIP-447): a new owner of a task must not start from offsets a transaction may still
 * change.
 */
export async function committedOffsets(admin: Admin, groupId: string, topics: ReadonlyMap<string, readonly number[]>, timeoutMs = 60_000): Promise<Map<string, PartitionOffsets>> {
  const result = new Map<string, PartitionOffsets>();
  if (topics.size === 0) return result;
  const groups = await retry(
    () =>
      admin.listConsumerGroupOffsets({
        groups: [{ groupId, topics: [...topics].map(([name, partitions]) => ({ name, partitionIndexes: [...partitions] })) }],
        requireStable: true,
      }),
    { retriable: (error) => isRetriable(error) || errorIds(error).has('UNSTABLE_OFFSET_COMMIT'), initialDelayMs: 50, maxDelayMs: 1_000, timeoutMs },
  );
  for (const topic of groups[0]?.topics ?? []) {
    const partitions = new Map<number, number>();
    for (const partition of topic.partitions) if (partition.committedOffset >= 0n) partitions.set(partition.partitionIndex, Number(partition.committedOffset));
    result.set(topic.name, partitions);
  }
  return result;
}

/** A topic's time-based retention (retention.ms), undefined when it keeps records for good (-1) or is compacted only. */
export async function topicRetentionMs(admin: Admin, topic: string): Promise<number | undefined> {
  const [described] = await retry(() => admin.describeConfigs({ includeSynonyms: false, resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: ['retention.ms', 'cleanup.policy'] }] }), {
    retriable: notYetKnown,
    timeoutMs: 30_000,
  });
  const value = (name: string) => described?.configs.find((config) => config.name === name)?.value;
  const retention = Number(value('retention.ms'));
  if (!(value('cleanup.policy') ?? 'delete').includes('delete') || !Number.isFinite(retention) || retention < 0) return undefined;
  return retention;
}
