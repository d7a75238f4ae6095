import type { GroupPartitionsAssigner, GroupPartitionsAssignments } from '@platformatic/kafka';
import { taskId } from '../task.ts';

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

export const assignorName = 'ecosystem-streams';

export function encodeMemberInfo(info: MemberInfo): Buffer {
  return Buffer.from(JSON.stringify(info));
}

export function decodeMemberInfo(userData: Buffer | null | undefined): MemberInfo {
  try {
    const parsed = JSON.parse(userData?.toString() ?? '{}') as Partial<MemberInfo>;
    return { endpoint: typeof parsed.endpoint === 'string' ? parsed.endpoint : '', tasks: Array.isArray(parsed.tasks) ? parsed.tasks.filter((task) => typeof task === 'string') : [] };
  } catch {
    return { endpoint: '', tasks: [] };
  }
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
 * The group's partition assigner: it assigns tasks, not partitions, so that partition p of
 * every source topic of a sub-topology lands on the same member (the co-partitioning joins
 * need).
 */
export function streamsAssigner(sources: () => readonly TaskSource[]): GroupPartitionsAssigner {
  return (_current, members, _topics, metadata): GroupPartitionsAssignments[] => {
    const tasks: Array<{ id: string; topics: string[]; partition: number }> = [];
    for (const source of sources()) {
      const partitions = Math.max(0, ...source.topics.map((topic) => metadata.topics.get(topic)?.partitionsCount ?? 0));
      for (let partition = 0; partition < partitions; partition += 1) tasks.push({ id: taskId(source.subtopology, partition), topics: source.topics, partition });
    }
    // Spread each sub-topology's partitions over the members: order tasks partition-major.
    tasks.sort((left, right) => left.partition - right.partition || left.id.localeCompare(right.id));
    const byMember = assignTasks(
      tasks.map((task) => task.id),
      [...members.values()].map((member) => ({ memberId: member.memberId, previous: decodeMemberInfo(member.metadata as Buffer | undefined).tasks })),
    );
    return [...byMember.entries()].map(([memberId, taskIds]) => {
      const assignments = new Map<string, { topic: string; partitions: number[] }>();
      for (const task of tasks.filter((candidate) => taskIds.includes(candidate.id))) {
        for (const topic of task.topics) {
          const entry = assignments.get(topic) ?? { topic, partitions: [] };
          entry.partitions.push(task.partition);
          assignments.set(topic, entry);
        }
      }
      return { memberId, assignments };
    });
  };
}
