import type { RuntimeLogger } from '../engine/logger.ts';
import { isStaleCoordinator, type BrokerConnections } from './broker-connections.ts';
import { errorIds } from './errors.ts';
import { heartbeatVersions, joinGroupVersions, leaveGroupVersions, offsetCommitVersions, protocolError, syncGroupVersions } from './protocol.ts';
import { backoffDelay, describeError, sleep } from './retry.ts';

/** The group generation a member is in: offset commits are fenced by it (KIP-447). */
export interface GroupGeneration {
  groupId: string;
  generationId: number;
  memberId: string;
}

export interface GroupMemberOptions {
  groupId: string;
  /** How long the coordinator waits for a silent member before it throws it out. */
  sessionTimeoutMs: number;
  /** How long a rebalance waits for members to join again. */
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** The assignment protocol's name and this member's metadata, read at every join (so it is current). */
  protocol: { name: string; metadata: () => Buffer };
  /** The leader's job: each member's assignment from every member's metadata. */
  assign: (members: ReadonlyArray<{ memberId: string; metadata: Buffer }>) => Promise<Map<string, Buffer>>;
  /** A rebalance began: the member joins again once this resolves (the caller commits under the ending generation first). */
  onRebalance: () => Promise<void>;
  /** The member's share of a completed rebalance. */
  onAssignment: (generation: GroupGeneration, assignment: Buffer) => void;
  logger: RuntimeLogger;
}

/** Answers that end this member's generation without ending its membership: join again. */
const rejoinIds = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION']);
/** Answers saying the coordinator does not know this member (any more): join as a new member. */
const unknownMemberIds = new Set(['UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

/**
 * A member of a consumer group with the classic protocol (Kafka's ConsumerCoordinator), on the
 * client's protocol layer: it joins (the leader runs the assignor), syncs, heartbeats, and on a
 * rebalance lets the caller commit under the ending generation before it joins again, as an
 * eager rebalance needs. It looks the coordinator up again whenever the coordinator moves or
 * cannot be reached, and keeps heartbeating through failures: a coordinator that forgot the
 * member answers UNKNOWN_MEMBER_ID, and it joins as a new member.
 */
export class GroupMember {
  private memberId = '';
  private current: GroupGeneration | undefined;
  private closed = false;
  private loop: Promise<void> | undefined;
  /** Set by `rejoin`: the heartbeat loop ends and the member joins again. */
  private rejoinRequested = false;
  private wakeHeartbeat: (() => void) | undefined;

  constructor(
    private readonly connections: BrokerConnections,
    private readonly options: GroupMemberOptions,
  ) {}

  /** The generation this member is in, undefined while it is not in one. */
  get generation(): GroupGeneration | undefined {
    return this.current;
  }

  /** Starts taking part in the group (joins, then keeps the membership alive until `close`). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Joins again at once: the caller learned (an offset commit was fenced) that its generation is over. */
  rejoin(): void {
    this.rejoinRequested = true;
    this.current = undefined;
    this.wakeHeartbeat?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        await this.joinAndSync();
        failures = 0;
        const rebalancing = await this.heartbeatUntilRebalance();
        if (rebalancing && !this.closed) await this.options.onRebalance();
      } catch (error) {
        if (this.closed) return;
        failures += 1;
        if (isStaleCoordinator(error)) this.connections.forgetCoordinator('group', this.options.groupId);
        const delay = backoffDelay(failures, { initialMs: 100, maxMs: 2_000 });
        (failures >= 5 ? this.options.logger.warn : this.options.logger.debug).call(this.options.logger, { group: this.options.groupId, attempt: failures, error: describeError(error) }, 'joining the group failed; retrying');
        await sleep(delay);
      }
    }
  }

  private async coordinator(): Promise<number> {
    return this.connections.coordinator('group', this.options.groupId);
  }

  private async joinAndSync(): Promise<void> {
    const { groupId, sessionTimeoutMs, rebalanceTimeoutMs, protocol } = this.options;
    this.current = undefined;
    this.rejoinRequested = false;
    const joinApi = await this.connections.choose(joinGroupVersions);
    for (;;) {
      if (this.closed) return;
      const coordinator = await this.coordinator();
      const joined = await this.connections.request('group', coordinator, joinApi, groupId, sessionTimeoutMs, rebalanceTimeoutMs, this.memberId, null, 'consumer', [{ name: protocol.name, metadata: protocol.metadata() }], null);
      const joinError = errorName(joined.errorCode);
      if (joinError === 'MEMBER_ID_REQUIRED') {
        // KIP-394: the coordinator names the member first; the member joins again with that id.
        this.memberId = joined.memberId;
        continue;
      }
      if (joinError && unknownMemberIds.has(joinError)) {
        this.memberId = '';
        continue;
      }
      if (joinError === 'REBALANCE_IN_PROGRESS') continue;
      if (joinError) throw protocolError(joined.errorCode);
      this.memberId = joined.memberId;
      const generation = { groupId, generationId: joined.generationId, memberId: joined.memberId };
      const assignments = joined.leader === joined.memberId ? await this.options.assign(joined.members.map(({ memberId, metadata }) => ({ memberId, metadata }))) : new Map<string, Buffer>();
      const syncApi = await this.connections.choose(syncGroupVersions);
      const synced = await this.connections.request('group', coordinator, syncApi, groupId, generation.generationId, generation.memberId, null, 'consumer', joined.protocolName ?? protocol.name, [...assignments].map(([memberId, assignment]) => ({ memberId, assignment })));
      const syncError = errorName(synced.errorCode);
      if (syncError && unknownMemberIds.has(syncError)) {
        this.memberId = '';
        continue;
      }
      if (syncError && rejoinIds.has(syncError)) continue;
      if (syncError) throw protocolError(synced.errorCode);
      this.current = generation;
      this.options.logger.debug({ group: groupId, generation: generation.generationId, leader: joined.leader === joined.memberId }, 'joined the group');
      this.options.onAssignment(generation, synced.assignment);
      return;
    }
  }

  /** Heartbeats until the group rebalances (true) or the member must join again without committing first (false). */
  private async heartbeatUntilRebalance(): Promise<boolean> {
    const { groupId, heartbeatIntervalMs } = this.options;
    const api = await this.connections.choose(heartbeatVersions);
    let failures = 0;
    while (!this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, failures > 0 ? Math.min(heartbeatIntervalMs, backoffDelay(failures, { initialMs: 100, maxMs: heartbeatIntervalMs })) : heartbeatIntervalMs);
        this.wakeHeartbeat = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeHeartbeat = undefined;
      const generation = this.current;
      if (this.closed) return false;
      if (this.rejoinRequested || !generation) return false;
      try {
        const answer = await this.connections.request('group', await this.coordinator(), api, groupId, generation.generationId, generation.memberId, null);
        const error = errorName(answer.errorCode);
        if (error === 'REBALANCE_IN_PROGRESS') return true;
        if (error && unknownMemberIds.has(error)) {
          this.memberId = '';
          this.current = undefined;
          return false;
        }
        if (error === 'ILLEGAL_GENERATION') {
          this.current = undefined;
          return false;
        }
        if (error) throw protocolError(answer.errorCode);
        failures = 0;
      } catch (error) {
        // A coordinator away for good ends in UNKNOWN_MEMBER_ID once the session is over: keep trying.
        failures += 1;
        if (isStaleCoordinator(error)) this.connections.forgetCoordinator('group', groupId);
        (failures >= 5 ? this.options.logger.warn : this.options.logger.debug).call(this.options.logger, { group: groupId, attempt: failures, error: describeError(error) }, 'heartbeat failed');
      }
    }
    return false;
  }

  /** At-least-once: commits consumed offsets through the group, for the current generation. */
  async commitOffsets(offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>): Promise<void> {
    const generation = this.current;
    if (!generation) throw protocolError('REBALANCE_IN_PROGRESS');
    const byTopic = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }>>();
    for (const { topic, partition, offset } of offsets) byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partitionIndex: partition, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null }]);
    const api = await this.connections.choose(offsetCommitVersions);
    try {
      const answer = await this.connections.request('group', await this.coordinator(), api, generation.groupId, generation.generationId, generation.memberId, null, [...byTopic].map(([name, partitions]) => ({ name, partitions })));
      for (const topic of answer.topics) for (const partition of topic.partitions) if (partition.errorCode !== 0) throw protocolError(partition.errorCode);
    } catch (error) {
      if (isStaleCoordinator(error)) this.connections.forgetCoordinator('group', generation.groupId);
      throw error;
    }
  }

  /** Leaves the group (its partitions go to the others at once) and stops heartbeating. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeHeartbeat?.();
    const memberId = this.memberId;
    if (memberId) {
      const api = await this.connections.choose(leaveGroupVersions).catch(() => undefined);
      if (api) {
        await this.coordinator()
          .then((coordinator) => this.connections.request('group', coordinator, api, this.options.groupId, [{ memberId, groupInstanceId: null, reason: 'the instance is closing' }]))
          .catch((error: unknown) => this.options.logger.debug({ error: describeError(error) }, 'leaving the group failed; the coordinator drops the member after its session timeout'));
      }
    }
    this.current = undefined;
    // A join in flight ends with the connections (closed next by the owner): not waited for here.
  }
}

function errorName(code: number): string | undefined {
  if (code === 0) return undefined;
  try {
    return [...errorIds(protocolError(code))][0] ?? String(code);
  } catch {
    return String(code);
  }
}
