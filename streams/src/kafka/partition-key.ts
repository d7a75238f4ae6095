/** A topic-partition as one map key, made only by `partitionKey` (a topic name cannot hold NUL). */
export type TopicPartitionKey = string & { readonly kind: 'TopicPartitionKey' };

export function partitionKey(topic: string, partition: number): TopicPartitionKey {
  return `${topic}\u0000${partition}` as TopicPartitionKey;
}
