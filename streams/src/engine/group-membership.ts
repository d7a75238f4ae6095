import type { BrokerConnections } from '../kafka/broker-connections.ts';
import { GroupMember, type GroupGeneration } from '../kafka/group-member.ts';
import { assignMembers, assignorName, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type MemberInfo, type PartitionOwnerMap, type TaskSource } from './assignor.ts';
import type { RuntimeLogger } from './logger.ts';
import type { TopicPartitionOffset } from './record-collector.ts';

export interface GroupAssignment {
  generation: GroupGeneration;
  /** Topic -> partitions assigned to this member. */
  partitions: Map<string, number[]>;
  /** Which endpoint owns every partition of the group's topics. */
  owners: PartitionOwnerMap;
}

export interface GroupMembershipOptions {
  groupId: string;
  sources: readonly TaskSource[];
  sessionTimeoutMs: number;
  memberInfo: () => MemberInfo;
  logger: RuntimeLogger;
  /** A rebalance began: commit now, while the current generation still counts; the member joins again when this resolves. */
  onRebalance: () => Promise<void>;
  /** This member's share of a completed rebalance. */
  onAssignment: (assignment: GroupAssignment) => void;
}

/**
 * The instance's membership in the application's consumer group: it joins with the runtime's
 * task assignor and its member info (endpoint, previous tasks) and keeps heartbeating. Records
 * are not fetched through it (see Fetcher): the group only decides which instance runs which
 * tasks, tells every instance who owns each partition, and its generation fences offset
 * commits of members that lost their tasks.
 */
export class GroupMembership {
  private readonly member: GroupMember;
  private readonly topics: string[];

  constructor(
    private readonly connections: BrokerConnections,
    private readonly options: GroupMembershipOptions,
  ) {
    this.topics = [...new Set(options.sources.flatMap((source) => source.topics))].sort();
    this.member = new GroupMember(connections, {
      groupId: options.groupId,
      sessionTimeoutMs: options.sessionTimeoutMs,
      rebalanceTimeoutMs: rebalanceTimeoutMs(options.sessionTimeoutMs),
      // A third of the session timeout, at most 3 s (the Java consumer's default).
      heartbeatIntervalMs: Math.min(3_000, Math.floor(options.sessionTimeoutMs / 3)),
      protocol: { name: assignorName, metadata: () => encodeSubscription(options.memberInfo(), this.topics) },
      assign: (members) => this.assign(members),
      onRebalance: options.onRebalance,
      onAssignment: (generation, data) => {
        const { partitions, owners } = decodeAssignment(data);
        options.onAssignment({ generation, partitions, owners });
      },
      logger: options.logger,
    });
  }

  private async assign(members: ReadonlyArray<{ memberId: string; metadata: Buffer }>): Promise<Map<string, Buffer>> {
    const topics = await this.connections.metadata(this.topics, true);
    const counts = new Map([...topics].map(([topic, metadata]) => [topic, metadata.partitions.length]));
    const assignments = assignMembers(
      this.options.sources,
      counts,
      members.map(({ memberId, metadata }) => ({ memberId, info: decodeSubscription(metadata) })),
    );
    return new Map([...assignments].map(([memberId, assignment]) => [memberId, encodeAssignment(assignment)]));
  }

  /** The generation this member is in (undefined outside the group). */
  get generation(): GroupGeneration | undefined {
    return this.member.generation;
  }

  join(): void {
    this.member.start();
  }

  /**
   * Joins again after the group refused this member (its offsets were fenced: the coordinator
   * forgot it, or its generation ended without it noticing). The new assignment arrives as usual.
   */
  rejoin(): void {
    this.member.rejoin();
  }

  /** At-least-once: commits consumed offsets through the group. */
  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.member.commitOffsets(offsets);
  }

  async close(): Promise<void> {
    await this.member.close();
  }
}

/** How long a rebalance waits for the members to join again: long enough for a commit and a slow restart. */
export function rebalanceTimeoutMs(sessionTimeoutMs: number): number {
  return Math.max(sessionTimeoutMs, 30_000);
}
