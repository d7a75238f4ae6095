import type { ConsumerGroupJoinPayload } from '@platformatic/kafka';
import type { BytesConsumer, KafkaClients } from '../kafka/clients.ts';
import { describeError } from '../kafka/retry.ts';
import { assignorName, encodeMemberInfo, streamsAssigner, type MemberInfo, type TaskSource } from './assignor.ts';
import type { RuntimeLogger } from './logger.ts';
import type { GroupGeneration, TopicPartitionOffset } from './record-collector.ts';

export interface GroupAssignment {
  generation: GroupGeneration;
  /** Topic -> partitions assigned to this member. */
  partitions: Map<string, number[]>;
}

export interface GroupMembershipOptions {
  groupId: string;
  sources: readonly TaskSource[];
  sessionTimeoutMs: number;
  memberInfo: () => MemberInfo;
  logger: RuntimeLogger;
  /** A rebalance began: commit now, while the current generation still counts. */
  onRebalance: () => void;
  /** This member's share of a completed rebalance. */
  onAssignment: (assignment: GroupAssignment) => void;
}

/**
 * The instance's membership in the application's consumer group: it joins with the runtime's
 * task assignor and its member info (endpoint, previous tasks) and keeps heartbeating; the
 * client rejoins by itself when a rebalance starts. Records are not fetched through it (see
 * Fetcher): the group only decides which instance runs which tasks, and its generation
 * fences offset commits of members that lost their tasks.
 */
export class GroupMembership {
  private readonly consumer: BytesConsumer;

  constructor(
    clients: KafkaClients,
    private readonly options: GroupMembershipOptions,
  ) {
    this.consumer = clients.consumer(options.groupId, { sessionTimeoutMs: options.sessionTimeoutMs });
    this.consumer.topics.trackAll(...new Set(options.sources.flatMap((source) => source.topics)));
    this.consumer.on('consumer:group:rebalance', () => options.onRebalance());
    this.consumer.on('consumer:group:join', (payload: ConsumerGroupJoinPayload) => {
      const partitions = new Map<string, number[]>();
      for (const { topic, partitions: assigned } of payload.assignments ?? []) partitions.set(topic, [...assigned]);
      options.onAssignment({ generation: this.generation!, partitions });
    });
    this.consumer.on('consumer:heartbeat:error', ({ error }: { error: Error }) => options.logger.debug({ error: describeError(error) }, 'heartbeat failed'));
  }

  /** The generation this member is in, as the client knows it (undefined outside the group). */
  get generation(): GroupGeneration | undefined {
    const { memberId, generationId } = this.consumer;
    if (!memberId) return undefined;
    return { groupId: this.options.groupId, generationId, memberId };
  }

  private joinOptions: Parameters<BytesConsumer['joinGroup']>[0] | undefined;

  async join(): Promise<void> {
    const { memberInfo } = this.options;
    this.joinOptions = {
      sessionTimeout: this.options.sessionTimeoutMs,
      rebalanceTimeout: Math.max(this.options.sessionTimeoutMs, 30_000),
      heartbeatInterval: Math.min(1_000, Math.floor(this.options.sessionTimeoutMs / 3)),
      // Read at every (re)join, so the leader sees this member's current endpoint and tasks.
      protocols: [
        {
          name: assignorName,
          version: 1,
          get metadata() {
            return encodeMemberInfo(memberInfo());
          },
        },
      ],
      partitionAssigner: streamsAssigner(() => this.options.sources),
    };
    await this.consumer.joinGroup(this.joinOptions);
  }

  /**
   * Joins again after the group refused this member (its offsets were fenced: the coordinator
   * forgot it, or its generation ended without it noticing). The new assignment arrives as usual.
   */
  rejoin(): void {
    if (!this.joinOptions) return;
    this.consumer.joinGroup(this.joinOptions).catch((error: unknown) => this.options.logger.warn({ error: describeError(error) }, 'rejoining the group failed; the next heartbeat tries again'));
  }

  /** At-least-once: commits consumed offsets through the group. */
  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.consumer.commit({ offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: BigInt(offset), leaderEpoch: -1 })) });
  }

  async close(): Promise<void> {
    // (The promise form of leaveGroup is shadowed by its callback overload in the client's types.)
    await new Promise<void>((resolve) => this.consumer.leaveGroup(false, () => resolve()));
    await this.consumer.close().catch(() => undefined);
  }
}
