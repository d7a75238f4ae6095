import { encodeHeaders, type BytesProducer, type RecordHeaders } from '@ecosystem/streams';

export interface OutgoingMessage {
  key: Buffer;
  value: Buffer | null;
  headers?: RecordHeaders;
  timestamp?: number;
}

interface Pending {
  topic: string;
  message: OutgoingMessage;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Sends single records (one per HTTP request) in batches without adding latency: the first
 * record goes out at once; records arriving while a send is in flight wait for it and then
 * go out together in one request. An idempotent producer has one send in flight at a time
 * (each send's sequence numbers follow the previous one's acknowledgement), so without this
 * every request would wait for every earlier one's round trip.
 *
 * After a failed send the producer is replaced by a new one (a new producer id): whether the
 * broker wrote the failed records is unknown, and their sequence numbers must not be reused
 * for other records.
 */
export class BatchingProducer {
  private queue: Pending[] = [];
  private sending: Promise<void> | undefined;
  private producer: BytesProducer | undefined;

  constructor(
    private readonly createProducer: () => BytesProducer,
    private readonly maxBatch = 500,
  ) {}

  async connect(): Promise<void> {
    const producer = this.createProducer();
    await producer.initIdempotentProducer({});
    this.producer = producer;
  }

  /** Waits for the sends in flight, then closes the producer. */
  async disconnect(): Promise<void> {
    while (this.sending) await this.sending;
    await this.producer?.close();
    this.producer = undefined;
  }

  send(topic: string, message: OutgoingMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      this.sending ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        if (!this.producer) await this.connect();
        await this.producer!.send({
          messages: batch.map(({ topic, message }) => ({
            topic,
            key: message.key,
            ...(message.value !== null ? { value: message.value } : {}),
            ...(message.timestamp !== undefined ? { timestamp: BigInt(message.timestamp) } : {}),
            ...(message.headers ? { headers: encodeHeaders(message.headers) } : {}),
          })),
        });
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        const failed = this.producer;
        this.producer = undefined;
        await failed?.close().catch(() => undefined);
      }
    }
    this.sending = undefined;
  }
}

