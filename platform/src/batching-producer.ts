import { sendBatchAcknowledged } from '@ecosystem/streams';
import type { Message, Producer } from 'kafkajs';

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Sends single records (one per HTTP request) in batches without adding latency: the first
 * record goes out at once; records arriving while a send is in flight wait for it and then
 * go out together in one request. An idempotent kafkajs producer has one request in flight
 * at a time, so without this every request would wait for every earlier one's round trip.
 *
 * After a failed send the producer is replaced by a new one (a new producer id). kafkajs
 * hands the failed records' sequence numbers back and gives them to the next records; if the
 * broker had in fact written the failed request (its answer lost to a broker restart), it
 * takes those next, different records for duplicates of it, answers "already written", and
 * they are acknowledged without ever reaching the topic. A fresh producer id cannot collide.
 */
export class BatchingProducer {
  private queue: Pending[] = [];
  private sending = false;
  private producer: Producer | undefined;

  constructor(
    private readonly createProducer: () => Producer,
    private readonly maxBatch = 500,
  ) {}

  async connect(): Promise<void> {
    const producer = this.createProducer();
    await producer.connect();
    this.producer = producer;
  }

  /** Waits for the sends in flight, then disconnects. */
  async disconnect(): Promise<void> {
    while (this.sending) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.producer?.disconnect();
    this.producer = undefined;
  }

  send(topic: string, message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const byTopic = new Map<string, Message[]>();
      for (const { topic, message } of batch) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
      try {
        if (!this.producer) await this.connect();
        // A producer of createProducer (RecordingPartitioner): a send kafkajs completed only in part fails.
        await sendBatchAcknowledged(this.producer!, { acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        const failed = this.producer;
        this.producer = undefined;
        await failed?.disconnect().catch(() => undefined);
      }
    }
    this.sending = false;
  }
}
