import type { Admin } from '@platformatic/kafka';
import { createTopics, partitionCounts, type TopicSpec } from '../kafka/admin.ts';
import type { ResolvedTopology } from '../topology.ts';
import type { RuntimeLogger } from './logger.ts';

export interface InternalTopicOptions {
  deadLetterTopic: string;
  /** Partitions of internal topics that no source topic sizes (default: the largest source topic). */
  defaultPartitions?: number;
  replicationFactor?: number;
  logger: RuntimeLogger;
}

/**
 * The internal topic manager: checks that the application's source topics exist and that each
 * sub-topology's inputs are co-partitioned, then creates its repartition and changelog topics
 * (sized like the sub-topology's inputs) and its dead-letter topic, and checks those that
 * exist. Returns the partition count of every topic the application reads or writes.
 */
export async function prepareTopics(admin: Admin, topology: ResolvedTopology, options: InternalTopicOptions): Promise<Map<string, number>> {
  const external = topology.externalTopics;
  const counts = await partitionCounts(admin, external);
  const missing = external.filter((topic) => !counts.has(topic));
  if (missing.length > 0) throw new Error(`source topics do not exist: ${missing.join(', ')} (create them first, e.g. with npm start)`);
  const largest = options.defaultPartitions ?? Math.max(1, ...counts.values());

  const internal = new Set(topology.internalTopics.map((topic) => topic.name));
  const subtopologyPartitions = new Map<number, number>();
  for (const subtopology of topology.subtopologies) {
    const sizes = new Set(subtopology.sources.filter((topic) => !internal.has(topic)).map((topic) => counts.get(topic)!));
    if (sizes.size > 1) throw new Error(`sub-topology ${subtopology.id} joins topics with different partition counts (${subtopology.sources.join(', ')}): they must be co-partitioned`);
    subtopologyPartitions.set(subtopology.id, [...sizes][0] ?? largest);
  }
  const specs: TopicSpec[] = topology.internalTopics.map((topic) => ({
    name: topic.name,
    partitions: subtopologyPartitions.get(topic.subtopology)!,
    compacted: topic.kind === 'changelog',
    ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}),
  }));
  specs.push({ name: options.deadLetterTopic, partitions: 1, compacted: false, ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}) });

  const created = await createTopics(admin, specs);
  if (created.length > 0) options.logger.info({ topics: created }, 'created internal topics');
  const present = await partitionCounts(admin, specs.map((spec) => spec.name));
  for (const spec of specs) {
    const actual = present.get(spec.name);
    if (actual !== undefined && actual !== spec.partitions) {
      throw new Error(`internal topic ${spec.name} has ${actual} partitions, the topology needs ${spec.partitions}; delete it (and the application's state) to recreate it`);
    }
    counts.set(spec.name, spec.partitions);
  }
  return counts;
}
