import { Partitioners, type ICustomPartitioner, type Message, type ProducerBatch, type RecordMetadata, type TopicMessages } from 'kafkajs';

/**
 * kafkajs 2.2.4 can report a batch as sent when part of it never was. A send spanning several
 * brokers that fails at one of them (it died) is retried only towards brokers that have not
 * answered yet; the partitions the dead broker led have meanwhile moved to a broker that did
 * answer, so their records are skipped, and the send resolves successfully without them.
 * Seen with a three-broker cluster and kill -9 of one: orders answered 201 that never
 * reached the topic.
 *
 * Sending the skipped records again is not safe: the dead broker may have written them, and
 * replicated them, before it died, and whether a resend is recognised as a duplicate depends
 * on kafkajs' handling of sequence numbers on that path. So a send missing acknowledgements
 * fails instead: a transaction is aborted and its task rebuilt from its last commit, a plain
 * producer's callers learn the outcome is unknown.
 */
const chosenPartitions = new WeakMap<Message, number>();

/** The Java-compatible partitioner (kafkajs' default), remembering its choice for `sendBatchAcknowledged`. */
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

export class UnacknowledgedSendError extends Error {
  constructor(readonly records: number) {
    super(`${records} records were not acknowledged by any broker (a broker failed mid-send); the send is treated as failed`);
    this.name = 'UnacknowledgedSendError';
  }
}

/**
 * `sendBatch`, failing with `UnacknowledgedSendError` unless every record's partition was
 * acknowledged. The producer must use `RecordingPartitioner` (or every message name its partition).
 */
export async function sendBatchAcknowledged(sender: BatchSender, batch: ProducerBatch & { topicMessages: TopicMessages[] }): Promise<RecordMetadata[]> {
  const metadata = await sender.sendBatch(batch);
  // Without acknowledgements (acks 0) there is nothing to check.
  if (batch.acks === 0) return metadata;
  const acknowledged = new Set(metadata.map(({ topicName, partition }) => `${topicName}\u0000${partition}`));
  let missing = 0;
  for (const { topic, messages } of batch.topicMessages) {
    for (const message of messages) {
      const partition = message.partition ?? chosenPartitions.get(message);
      if (partition === undefined) throw new Error(`no partition known for a record of ${topic}: the producer must use RecordingPartitioner`);
      if (!acknowledged.has(`${topic}\u0000${partition}`)) missing += 1;
    }
  }
  if (missing > 0) throw new UnacknowledgedSendError(missing);
  return metadata;
}
