import type { Consumer, Kafka } from 'kafkajs';

export interface TopicRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Every committed record of some topics, from the beginning, kept as raw bytes while the test
 * runs. `caughtUp()` waits until everything written before the call has been read, so a test
 * can count records (transaction markers and aborted records included in the positions).
 */
export class TopicRecords {
  readonly records: TopicRecord[] = [];
  private readonly positions = new Map<string, number>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly consumer: Consumer,
    readonly topics: string[],
  ) {}

  static async start(kafka: Kafka, topics: string[], groupId: string): Promise<TopicRecords> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic));
      if (missing.length > 0) throw new Error(`topics missing: ${missing.join(', ')}`);
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, readUncommitted: false });
    const reader = new TopicRecords(kafka, consumer, topics);
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      reader.advance(payload.topic, payload.partition, Number(payload.lastOffset) + 1);
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value === undefined) continue;
          const last = Array.isArray(value) ? value[value.length - 1] : value;
          headers[name] = last === undefined ? '' : last.toString();
        }
        reader.records.push({ topic, partition, offset: Number(message.offset), key: message.key, value: message.value, headers });
        reader.advance(topic, partition, Number(message.offset) + 1);
      },
    });
    return reader;
  }

  private advance(topic: string, partition: number, next: number): void {
    const key = `${topic}:${partition}`;
    if ((this.positions.get(key) ?? 0) < next) this.positions.set(key, next);
  }

  of(topic: string): TopicRecord[] {
    return this.records.filter((record) => record.topic === topic);
  }

  /** Waits until `done` holds for the records read so far. */
  async waitFor(what: string, done: (records: TopicRecord[]) => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.records)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.records.length} records read)`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits until every record written to the topics before this call has been read. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends: Array<{ key: string; end: number }> = [];
    try {
      for (const topic of this.topics) {
        for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
          if (Number(high) > Number(low)) ends.push({ key: `${topic}:${partition}`, end: Number(high) });
        }
      }
    } finally {
      await admin.disconnect();
    }
    await this.waitFor(`the end of ${this.topics.join(', ')}`, () => ends.every(({ key, end }) => (this.positions.get(key) ?? 0) >= end), timeoutMs);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
