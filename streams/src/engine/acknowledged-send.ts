import { Partitioners, type ICustomPartitioner, type Message, type ProducerBatch, type RecordMetadata, type TopicMessages } from 'kafkajs';

/**
 * kafkajs 2.2.4 can report a batch as sent when part of it never was. A send spanning several
 * brokers that fails at one of them (it died) is retried only towards brokers that have not
 * answered yet; the partitions the dead broker led have meanwhile moved to a broker that did
 * answer, so their records are skipped, and the send resolves successfully without them.
 * Seen with a three-broker cluster and kill -9 of one: orders answered 201 that never
 * reached the topic. The fix here: learn which partition each record went to, and send again
 * what no partition acknowledged. Idempotence keeps that safe: the skipped records' sequence
 * numbers were handed back when their request failed, so a resend reuses them, and a broker
 * that did write them before dying (and replicated them) answers the resend as a duplicate.
 */
const chosenPartitions = new WeakMap<Message, number>();

/** The Java-compatible partitioner (kafkajs' default), remembering its choice for `sendBatchCompletely`. */
export const RecordingPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  return (args) => {
    const partition = partitioner(args);
    chosenPartitions.set(args.message, partition);
    return partition;
  };
};

export interface BatchSender {
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
}

/**
 * `sendBatch`, then again for the records of partitions no broker acknowledged, until all were.
 * The producer must use `RecordingPartitioner` (or every message name its partition).
 * Returns the metadata of every send, in order.
 */
export async function sendBatchCompletely(sender: BatchSender, batch: ProducerBatch & { topicMessages: TopicMessages[] }, onResend?: (records: number) => void): Promise<RecordMetadata[]> {
  const metadata: RecordMetadata[] = [];
  let pending = batch.topicMessages;
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt === 5) throw new Error(`records of ${pending.map(({ topic }) => topic).join(', ')} were not acknowledged after ${attempt} sends`);
    const sent = await sender.sendBatch({ ...batch, topicMessages: pending });
    metadata.push(...sent);
    // Without acknowledgements (acks 0) there is nothing to check.
    if (batch.acks === 0) break;
    const acknowledged = new Set(sent.map(({ topicName, partition }) => `${topicName}\u0000${partition}`));
    pending = pending
      .map(({ topic, messages }) => ({
        topic,
        messages: messages.flatMap((message): Message[] => {
          const partition = message.partition ?? chosenPartitions.get(message);
          if (partition === undefined) throw new Error(`no partition known for a record of ${topic}: the producer must use RecordingPartitioner`);
          // The resend names the partition: the key's partition must not change between tries.
          return acknowledged.has(`${topic}\u0000${partition}`) ? [] : [{ ...message, partition }];
        }),
      }))
      .filter(({ messages }) => messages.length > 0);
    if (pending.length > 0) onResend?.(pending.reduce((count, { messages }) => count + messages.length, 0));
  }
  return metadata;
}
