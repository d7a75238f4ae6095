import type { Admin } from '@platformatic/kafka';
import { retry } from '../kafka/retry.ts';
import { decodeMemberInfo } from './assignor.ts';

export type Owner = { status: 'available'; endpoint: string } | { status: 'unavailable'; reason: string };

/**
 * Which instance owns each partition, for interactive queries. A member learns only its own
 * partitions from the group, so after every rebalance the map is rebuilt from the group
 * description, which carries every member's metadata (its advertised endpoint) and assignment. Between a rebalance starting and the map being
 * rebuilt, owners are unavailable and callers retry.
 */
export class PartitionOwners {
  private owners: Map<string, Map<number, string>> | undefined;
  private generation = 0;

  invalidate(): void {
    this.owners = undefined;
    this.generation += 1;
  }

  get isAvailable(): boolean {
    return this.owners !== undefined;
  }

  /** Reads the group until it is stable with every member assigned; gives up when invalidated again. */
  async refresh(admin: Admin, groupId: string, expectedTopics: readonly string[], shouldStop: () => boolean): Promise<void> {
    const generation = this.generation;
    const stale = () => shouldStop() || generation !== this.generation;
    const owners = await retry(
      async () => {
        if (stale()) return undefined;
        const described = await this.describe(admin, groupId, expectedTopics);
        if (!described) throw new Error('the group is not stable yet');
        return described;
      },
      { initialDelayMs: 50, maxDelayMs: 1_000, retriable: () => !stale() },
    ).catch(() => undefined);
    if (owners && !stale()) this.owners = owners;
  }

  private async describe(admin: Admin, groupId: string, expectedTopics: readonly string[]): Promise<Map<string, Map<number, string>> | undefined> {
    const group = (await admin.describeGroups({ groups: [groupId] })).get(groupId);
    if (!group || group.state !== 'STABLE' || group.members.size === 0) return undefined;
    const owners = new Map<string, Map<number, string>>();
    for (const member of group.members.values()) {
      if (!member.metadata || !member.assignments) return undefined;
      const { endpoint } = decodeMemberInfo(member.metadata.metadata as Buffer | undefined);
      for (const { topic, partitions } of member.assignments.values()) {
        const byPartition = owners.get(topic) ?? new Map<number, string>();
        for (const partition of partitions) byPartition.set(partition, endpoint);
        owners.set(topic, byPartition);
      }
    }
    // A stable group whose assignment does not yet cover our topics is from before our subscription.
    if (expectedTopics.some((topic) => !owners.has(topic))) return undefined;
    return owners;
  }

  ownerOf(topic: string, partition: number): Owner {
    if (!this.owners) return { status: 'unavailable', reason: 'the group is rebalancing' };
    const endpoint = this.owners.get(topic)?.get(partition);
    if (endpoint === undefined) return { status: 'unavailable', reason: `no instance owns ${topic}-${partition}` };
    return { status: 'available', endpoint };
  }

  /** Every distinct endpoint of the group. */
  endpoints(): string[] {
    return [...new Set([...(this.owners?.values() ?? [])].flatMap((partitions) => [...partitions.values()]))];
  }
}
