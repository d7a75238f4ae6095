import type { Message, ProducerBatch, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RecordingPartitioner, sendBatchAcknowledged, UnacknowledgedSendError } from '../src/engine/acknowledged-send.ts';

const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0, offlineReplicas: [] }));

/**
 * A sender that behaves like kafkajs after a broker died mid-send: it partitions with the
 * recording partitioner, but acknowledges only the partitions in `reachable`, as if the
 * others' records had been skipped.
 */
function skippingSender(reachable: number[]) {
  const partition = RecordingPartitioner();
  return {
    async sendBatch({ topicMessages }: ProducerBatch): Promise<RecordMetadata[]> {
      const acknowledged = new Set<number>();
      for (const { topic, messages } of topicMessages ?? []) {
        for (const message of messages) {
          const chosen = partition({ topic, partitionMetadata, message });
          if (reachable.includes(chosen)) acknowledged.add(chosen);
        }
      }
      return [...acknowledged].map((chosen) => ({ topicName: 'orders', partition: chosen, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '0' }));
    },
  };
}

describe('sendBatchAcknowledged', () => {
  const messages = (): Message[] => Array.from({ length: 30 }, (_, index) => ({ key: `order-${index}`, value: 'v' }));

  it('fails, counting them, when records of some partitions were skipped', async () => {
    const sent = sendBatchAcknowledged(skippingSender([0]), { acks: -1, topicMessages: [{ topic: 'orders', messages: messages() }] });
    await expect(sent).rejects.toBeInstanceOf(UnacknowledgedSendError);
    const error = (await sent.catch((caught: unknown) => caught)) as UnacknowledgedSendError;
    expect(error.records).toBeGreaterThan(0);
    expect(error.records).toBeLessThan(30);
  });

  it('returns the metadata when every partition acknowledged', async () => {
    const metadata = await sendBatchAcknowledged(skippingSender([0, 1, 2]), { acks: -1, topicMessages: [{ topic: 'orders', messages: messages() }] });
    expect(metadata.map(({ partition }) => partition).sort()).toEqual([0, 1, 2]);
  });

  it('refuses records whose partition it cannot know', async () => {
    const plain = { sendBatch: async () => [] };
    await expect(sendBatchAcknowledged(plain, { acks: -1, topicMessages: [{ topic: 'orders', messages: [{ key: 'k', value: 'v' }] }] })).rejects.toThrow(/RecordingPartitioner/);
  });
});
