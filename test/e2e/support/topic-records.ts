import { allPartitions, endOffsets, followTopics, type KafkaClients, type TopicReader } from 'kstreams';

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
  private reader: TopicReader | undefined;

  private constructor(
    private readonly clients: KafkaClients,
    readonly topics: string[],
  ) {}

  static async start(clients: KafkaClients, topics: string[], name: string): Promise<TopicRecords> {
    const records = new TopicRecords(clients, topics);
    records.reader = await followTopics(clients, topics, { from: 'beginning', name }, (topic, partition, fetched, nextOffset) => {
      for (const record of fetched) {
        const headers = Object.fromEntries(Object.entries(record.headers).map(([header, value]) => [header, value.toString()]));
        records.records.push({ topic, partition, offset: record.offset, key: record.key, value: record.value, headers });
      }
      const key = `${topic}:${partition}`;
      if ((records.positions.get(key) ?? 0) < nextOffset) records.positions.set(key, nextOffset);
    });
    return records;
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
    const admin = this.clients.admin();
    const ends = await endOffsets(admin, await allPartitions(admin, this.topics), false);
    const wanted = [...ends].flatMap(([topic, partitions]) => [...partitions].filter(([, end]) => end > 0).map(([partition, end]) => ({ key: `${topic}:${partition}`, end })));
    await this.waitFor(`the end of ${this.topics.join(', ')}`, () => wanted.every(({ key, end }) => (this.positions.get(key) ?? 0) >= end), timeoutMs);
  }

  async stop(): Promise<void> {
    await this.reader?.close();
  }
}
