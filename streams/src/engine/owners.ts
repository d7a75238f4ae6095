import type { PartitionOwnerMap } from './assignor.ts';

export type Owner = { status: 'available'; endpoint: string } | { status: 'unavailable'; reason: string };

/**
 * Which instance owns each partition, for interactive queries. Every member's assignment
 * carries the whole group's owners (the leader computed them all), so the map is known the
 * moment an assignment arrives; between a rebalance starting and the next assignment, owners
 * are unavailable and callers retry.
 */
export class PartitionOwners {
  private owners: PartitionOwnerMap | undefined;

  invalidate(): void {
    this.owners = undefined;
  }

  set(owners: PartitionOwnerMap): void {
    this.owners = owners;
  }

  get isAvailable(): boolean {
    return this.owners !== undefined;
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
