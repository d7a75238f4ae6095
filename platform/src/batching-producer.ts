import { encodeHeaders, RecordProducer, type BrokerConnections, type RecordHeaders, type RuntimeLogger } from '@ecosystem/streams';

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
 * A send retries what passes by itself (a leader moving) with the same sequence numbers. After
 * a send failed for good the producer takes a new producer id: whether the broker wrote the
 * failed records is unknown, and their sequence numbers must not be reused for other records.
 */
export class BatchingProducer {
  private queue: Pending[] = [];
  private sending: Promise<void> | undefined;
  private producer: RecordProducer | undefined;

  constructor(
    /** The producer's own connections (closed by `disconnect`). */
    private readonly connections: BrokerConnections,
    private readonly logger: RuntimeLogger,
    private readonly maxBatch = 500,
  ) {}

  async connect(): Promise<void> {
    const producer = new RecordProducer(this.connections, { logger: this.logger });
    await producer.init();
    this.producer = producer;
  }

  /** Waits for the sends in flight, then closes the producer's connections. */
  async disconnect(): Promise<void> {
    while (this.sending) await this.sending;
    this.producer = undefined;
    await this.connections.close();
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
        await this.producer!.send(
          batch.map(({ topic, message }) => ({
            topic,
            key: message.key,
            value: message.value,
            timestamp: message.timestamp ?? Date.now(),
            headers: encodeHeaders(message.headers ?? {}),
          })),
        );
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
        // Its numbering is in doubt now: the next send takes a new producer id.
        this.producer = undefined;
      }
    }
    this.sending = undefined;
  }
}

