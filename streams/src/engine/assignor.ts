import { decodeConsumerProtocolAssignment, decodeConsumerProtocolSubscription, encodeConsumerProtocolAssignment, encodeConsumerProtocolSubscription } from '@platformatic/kafka';
import { taskId, type TaskId } from '../task.ts';

/** What each member tells the group leader: where it serves queries and which tasks it had. */
export interface MemberInfo {
  /** host:port of the instance's HTTP server for interactive queries ('' if it serves none). */
  endpoint: string;
  /** Task ids this member owned before the rebalance, to keep tasks (and their warm state) in place. */
  tasks: string[];
}

/** A sub-topology's task inputs: its source topics, which must be co-partitioned. */
export interface TaskSource {
  subtopology: number;
  topics: string[];
}

/** Topic -> partition -> the endpoint of the instance that owns it, for interactive queries. */
export type PartitionOwnerMap = Map<string, Map<number, string>>;

/** A member's share of a rebalance, with the whole group's partition owners (as Kafka Streams' AssignmentInfo carries its hosts). */
export interface MemberAssignment {
  partitions: Map<string, number[]>;
  owners: PartitionOwnerMap;
}

export const assignorName = 'ecosystem-streams';

/**
 * Subscriptions and assignments in the consumer protocol's format (version 0), as the Java
 * clients write them, so Kafka's own tools can describe the group; the runtime's data travels
 * as JSON in their user data.
 */
export function encodeSubscription(info: MemberInfo, topics: readonly string[]): Buffer {
  return encodeConsumerProtocolSubscription({ version: 0, topics: [...topics], userData: Buffer.from(JSON.stringify(info)) });
}

export function decodeSubscription(metadata: Buffer): MemberInfo {
  try {
    const parsed = JSON.parse(decodeConsumerProtocolSubscription(metadata).userData?.toString() ?? '{}') as Partial<MemberInfo>;
    return { endpoint: typeof parsed.endpoint === 'string' ? parsed.endpoint : '', tasks: Array.isArray(parsed.tasks) ? parsed.tasks.filter((task) => typeof task === 'string') : [] };
  } catch {
    return { endpoint: '', tasks: [] };
  }
}

export function encodeAssignment(assignment: MemberAssignment): Buffer {
  const owners = [...assignment.owners].map(([topic, partitions]) => [topic, [...partitions]]);
  return encodeConsumerProtocolAssignment({
    version: 0,
    assignedPartitions: [...assignment.partitions].map(([topic, partitions]) => ({ topic, partitions })),
    userData: Buffer.from(JSON.stringify({ owners })),
  });
}

export function decodeAssignment(buffer: Buffer): MemberAssignment {
  const decoded = decodeConsumerProtocolAssignment(buffer);
  const partitions = new Map<string, number[]>(decoded.assignedPartitions.map(({ topic, partitions: assigned }) => [topic, [...assigned]]));
  let owners: PartitionOwnerMap = new Map();
  try {
    const parsed = JSON.parse(decoded.userData?.toString() ?? '{}') as { owners?: Array<[string, Array<[number, string]>]> };
    owners = new Map((parsed.owners ?? []).map(([topic, byPartition]) => [topic, new Map(byPartition)]));
  } catch {
    // An assignment without owners (another assignor's): interactive queries wait for the next one.
  }
  return { partitions, owners };
}

/**
 * Balanced, sticky assignment of tasks to members: every member gets at most
 * ceil(tasks / members) tasks; a task stays with its previous owner when that owner still has
 * room, so its local state stays warm; the rest go to the least loaded members.
 */
export function assignTasks(tasks: readonly string[], members: ReadonlyArray<{ memberId: string; previous: readonly string[] }>): Map<string, string[]> {
  const sorted = [...members].sort((left, right) => left.memberId.localeCompare(right.memberId));
  const assignment = new Map<string, string[]>(sorted.map((member) => [member.memberId, []]));
  if (sorted.length === 0) return assignment;
  const capacity = Math.ceil(tasks.length / sorted.length);
  const unassigned: string[] = [];
  for (const task of tasks) {
    const previousOwner = sorted.find((member) => member.previous.includes(task) && assignment.get(member.memberId)!.length < capacity);
    if (previousOwner) assignment.get(previousOwner.memberId)!.push(task);
    else unassigned.push(task);
  }
  for (const task of unassigned) {
    const leastLoaded = sorted.reduce((best, member) => (assignment.get(member.memberId)!.length < assignment.get(best.memberId)!.length ? member : best));
    assignment.get(leastLoaded.memberId)!.push(task);
  }
  return assignment;
}

/**
 * The leader's assignment: tasks, not partitions, are assigned, so that partition p of every
 * source topic of a sub-topology lands on the same member (the co-partitioning joins need);
 * every member also learns which endpoint owns each partition.
 */
export function assignMembers(sources: readonly TaskSource[], partitionCounts: ReadonlyMap<string, number>, members: ReadonlyArray<{ memberId: string; info: MemberInfo }>): Map<string, MemberAssignment> {
  const tasks: Array<{ id: TaskId; topics: string[]; partition: number }> = [];
  for (const source of sources) {
    const partitions = Math.max(0, ...source.topics.map((topic) => partitionCounts.get(topic) ?? 0));
    for (let partition = 0; partition < partitions; partition += 1) tasks.push({ id: taskId(source.subtopology, partition), topics: source.topics, partition });
  }
  // Spread each sub-topology's partitions over the members: order tasks partition-major.
  tasks.sort((left, right) => left.partition - right.partition || left.id.localeCompare(right.id));
  const byMember = assignTasks(
    tasks.map((task) => task.id),
    members.map((member) => ({ memberId: member.memberId, previous: member.info.tasks })),
  );
  const endpoints = new Map(members.map((member) => [member.memberId, member.info.endpoint]));
  const owners: PartitionOwnerMap = new Map();
  const result = new Map<string, MemberAssignment>();
  for (const [memberId, taskIds] of byMember) {
    const partitions = new Map<string, number[]>();
    for (const task of tasks.filter((candidate) => taskIds.includes(candidate.id))) {
      for (const topic of task.topics) {
        partitions.set(topic, [...(partitions.get(topic) ?? []), task.partition]);
        const byPartition = owners.get(topic) ?? new Map<number, string>();
        byPartition.set(task.partition, endpoints.get(memberId) ?? '');
        owners.set(topic, byPartition);
      }
    }
    result.set(memberId, { partitions, owners });
  }
  return result;
}
