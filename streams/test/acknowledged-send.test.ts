import type { Message, ProducerBatch, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RecordingPartitioner, sendBatchCompletely } from '../src/engine/complete-send.ts';

const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0, offlineReplicas: [] }));

/**
 * A sender that behaves like kafkajs after a broker died mid-send: it partitions with the
 * recording partitioner, but acknowledges (and keeps) only the partitions in `reachable`
 * on its first call, as if the others' records had been skipped.
 */
function skippingSender(reachable: number[]) {
  const partition = RecordingPartitioner();
  const written: Array<{ partition: number; key: string }> = [];
  let calls = 0;
  return {
    written,
    get calls() {
      return calls;
    },
    async sendBatch({ topicMessages }: ProducerBatch): Promise<RecordMetadata[]> {
      calls += 1;
      const acknowledged = new Set<number>();
      for (const { topic, messages } of topicMessages ?? []) {
        for (const message of messages) {
          const chosen = partition({ topic, partitionMetadata, message });
          if (calls > 1 || reachable.includes(chosen)) {
            written.push({ partition: chosen, key: String(message.key) });
            acknowledged.add(chosen);
          }
        }
      }
      return [...acknowledged].map((chosen) => ({ topicName: 'orders', partition: chosen, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' }));
    },
  };
}

describe('sendBatchCompletely', () => {
  const messages = (): Message[] => Array.from({ length: 30 }, (_, index) => ({ key: `order-${index}`, value: 'v' }));

  it('sends again, to the same partitions, the records a send skipped', async () => {
    const sender = skippingSender([0]);
    const resent: number[] = [];
    await sendBatchCompletely(sender, { acks: -1, topicMessages: [{ topic: 'orders', messages: messages() }] }, (count) => resent.push(count));
    expect(sender.calls).toBe(2);
    expect(sender.written.map(({ key }) => key).sort()).toEqual(messages().map(({ key }) => String(key)).sort());
    expect(resent).toEqual([sender.written.filter(({ partition }) => partition !== 0).length]);
    // The resend named the partition the partitioner had chosen for each key.
    const partitionOf = new Map<string, Set<number>>();
    for (const { key, partition } of sender.written) partitionOf.set(key, new Set([...(partitionOf.get(key) ?? []), partition]));
    expect([...partitionOf.values()].every((partitions) => partitions.size === 1)).toBe(true);
  });

  it('sends once when every partition acknowledged', async () => {
    const sender = skippingSender([0, 1, 2]);
    await sendBatchCompletely(sender, { acks: -1, topicMessages: [{ topic: 'orders', messages: messages() }] });
    expect(sender.calls).toBe(1);
    expect(sender.written).toHaveLength(30);
  });
});
