import type { Kafka, KafkaMessage } from 'kafkajs';
import type { RuntimeLogger } from './logger.ts';
import { subscribeWhenKnown } from './subscribe.ts';

export interface ReadRange {
  topic: string;
  partition: number;
  /** First offset to read. */
  from: number;
  /** Offset to read up to (exclusive): the end at the time reading started. */
  to: number;
}

export interface ChangelogReaderOptions {
  kafka: Kafka;
  groupId: string;
  logger: RuntimeLogger;
  ranges: readonly ReadRange[];
  /** Applies records of one partition, in offset order (only offsets >= from). */
  apply: (topic: string, partition: number, messages: KafkaMessage[]) => Promise<void>;
  /** Keep reading past `to` (global tables follow their topic forever). */
  follow: boolean;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Reads changelog (or source) partitions from given offsets, for restoring state stores and
 * for global tables. kafkajs can only consume through a consumer group, so the reader uses
 * a group of its own (one member: it gets every partition of its topics), seeks the
 * partitions it needs and pauses the rest. `caughtUp` resolves once every range has been
 * read to its end; a range that is already empty is done at once.
 *
 * The end is detected from the batch's last offset, which counts transaction markers: the
 * last offset of a transactional changelog is a commit marker, never a record.
 */
export class ChangelogReader {
  private readonly consumer;
  private readonly positions = new Map<string, number>();
  private readonly ends = new Map<string, number>();
  private readonly pending = new Set<string>();
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (error: unknown) => void;
  readonly caughtUp: Promise<void>;
  private stopped = false;

  constructor(private readonly options: ChangelogReaderOptions) {
    this.consumer = options.kafka.consumer({ groupId: options.groupId, readUncommitted: false, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
    this.caughtUp = new Promise((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    for (const range of options.ranges) {
      const id = key(range.topic, range.partition);
      this.positions.set(id, range.from);
      this.ends.set(id, range.to);
      if (range.from < range.to) this.pending.add(id);
    }
  }

  async start(): Promise<void> {
    if (this.pending.size === 0 && !this.options.follow) {
      this.resolveCaughtUp();
      return;
    }
    const topics = [...new Set(this.options.ranges.map((range) => range.topic))];
    await this.consumer.connect();
    await subscribeWhenKnown(this.consumer, topics);
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        const unwanted = partitions.filter((partition) => !this.positions.has(key(topic, partition)));
        if (unwanted.length > 0) this.consumer.pause([{ topic, partitions: unwanted }]);
        for (const partition of partitions) {
          const position = this.positions.get(key(topic, partition));
          if (position === undefined) continue;
          if (!this.options.follow && !this.pending.has(key(topic, partition))) this.consumer.pause([{ topic, partitions: [partition] }]);
          else this.consumer.seek({ topic, partition, offset: String(position) });
        }
      }
    });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => this.progress(payload.topic, payload.partition, Number(payload.lastOffset)));
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => this.rejectCaughtUp(payload.error));
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isStale }) => {
        const id = key(batch.topic, batch.partition);
        const position = this.positions.get(id);
        if (position === undefined || isStale()) return;
        const messages = batch.messages.filter((message) => Number(message.offset) >= position);
        if (messages.length > 0) {
          await this.options.apply(batch.topic, batch.partition, messages);
          this.positions.set(id, Number(messages[messages.length - 1]!.offset) + 1);
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last) resolveOffset(last.offset);
      },
    });
    if (this.pending.size === 0) this.resolveCaughtUp();
  }

  private progress(topic: string, partition: number, lastOffset: number): void {
    const id = key(topic, partition);
    if (!this.positions.has(id)) return;
    this.positions.set(id, Math.max(this.positions.get(id)!, lastOffset + 1));
    if (this.pending.has(id) && lastOffset + 1 >= this.ends.get(id)!) {
      this.pending.delete(id);
      if (!this.options.follow) this.consumer.pause([{ topic, partitions: [partition] }]);
      if (this.pending.size === 0) this.resolveCaughtUp();
    }
  }

  /** The next offset to read per partition (for checkpoints of followed topics). */
  position(topic: string, partition: number): number | undefined {
    return this.positions.get(key(topic, partition));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.consumer.disconnect();
    // The reader's group holds no committed offsets; removing it keeps the broker tidy.
    const admin = this.options.kafka.admin();
    await admin.connect();
    await admin.deleteGroups([this.options.groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
