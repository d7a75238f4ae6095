import { encodeHeaders, RecordProducer, type KafkaClients, type ProducerRecord, type RecordHeaders, type RuntimeLogger } from 'kstreams';

/** What the batching producer needs of a producer (RecordProducer; a stand-in in unit tests). */
export interface RecordWriter {
  init(): Promise<void>;
  send(records: readonly ProducerRecord[]): Promise<unknown>;
}

export interface OutgoingMessage {
  key: Buffer;
  value: Buffer | null;
  headers?: RecordHeaders;
  timestamp?: number;
}

interface Pending {
  topic: string;
  message: OutgoingMessage;
  /** True once the record is part of a request to the broker: from then on it cannot be taken back. */
  sending: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** The queue holds as many records as it may: this one was refused at once, nothing was written. */
export class ProducerQueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the producer's queue is full (${limit} records waiting)`);
    this.name = 'ProducerQueueFullError';
  }
}

/**
 * The caller gave up on a record (its signal aborted). `sent` false: it was still waiting and
 * is dropped, nothing was written. `sent` true: it was already on its way to the broker, which
 * may or may not have written it.
 */
export class SendAbortedError extends Error {
  constructor(readonly sent: boolean) {
    super(sent ? 'the record was sent but not acknowledged in time: it may or may not be written' : 'the record was not sent in time and is dropped: nothing was written');
    this.name = 'SendAbortedError';
  }
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
  /** Records of the request to the broker under way. */
  private inFlight = 0;
  private sending: Promise<void> | undefined;
  private producer: RecordWriter | undefined;

  constructor(
    /** A new producer: the first one, and another after a send failed for good. */
    private readonly createProducer: () => RecordWriter,
    /** Releases what the producers share (their connections), at `disconnect`. */
    private readonly release: () => Promise<void> = async () => {},
    private readonly maxBatch = 500,
    /** Records waiting or being sent beyond which `send` refuses at once: a slow broker shows as refusals, not as a growing heap. */
    private readonly maxQueued = 10_000,
  ) {}

  /** Records waiting or being sent. */
  get queued(): number {
    return this.queue.length + this.inFlight;
  }

  /** A batching producer on RecordProducer, with connections of its own (named `name`). */
  static create(kafka: KafkaClients, name: string, logger: RuntimeLogger, maxQueued?: number): BatchingProducer {
    const connections = kafka.connections(name);
    return new BatchingProducer(() => new RecordProducer(connections, { logger }), () => connections.close(), 500, maxQueued);
  }

  async connect(): Promise<void> {
    const producer = this.createProducer();
    await producer.init();
    this.producer = producer;
  }

  /** Waits for the sends in flight, then releases the producer's connections. */
  async disconnect(): Promise<void> {
    while (this.sending) await this.sending;
    this.producer = undefined;
    await this.release();
  }

  /**
   * Resolves once the broker acknowledged the record. Rejects at once with
   * `ProducerQueueFullError` when `maxQueued` records are queued, and with `SendAbortedError`
   * when `signal` aborts first.
   */
  send(topic: string, message: OutgoingMessage, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.queued >= this.maxQueued) return reject(new ProducerQueueFullError(this.maxQueued));
      if (signal?.aborted) return reject(new SendAbortedError(false));
      const pending: Pending = { topic, message, sending: false, resolve, reject };
      const abandon = () => {
        const waiting = this.queue.indexOf(pending);
        if (waiting >= 0) this.queue.splice(waiting, 1);
        // A record already sent stays in its batch (the batch's outcome settles nothing any more).
        reject(new SendAbortedError(pending.sending));
      };
      signal?.addEventListener('abort', abandon, { once: true });
      pending.resolve = () => {
        signal?.removeEventListener('abort', abandon);
        resolve();
      };
      pending.reject = (error) => {
        signal?.removeEventListener('abort', abandon);
        reject(error);
      };
      this.queue.push(pending);
      this.sending ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      for (const pending of batch) pending.sending = true;
      this.inFlight = batch.length;
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
      } finally {
        this.inFlight = 0;
      }
    }
    this.sending = undefined;
  }
}

