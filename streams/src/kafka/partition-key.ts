/** One string per topic-partition, for maps keyed by both (a topic name cannot hold NUL). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
