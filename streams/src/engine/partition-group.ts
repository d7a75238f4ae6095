import type { FetchedPartition, FetchedRecord } from '../kafka/fetcher.ts';

/** The fetched, not yet processed records of one input partition of a task. */
export class RecordQueue {
  private records: FetchedRecord[] = [];
  private head = 0;
  /** Where the partition ended at the last fetch (the last stable offset when reading committed). */
  endOffset: number | undefined;
  /** The fetcher's position after the last answer: what was fetched so far. */
  fetchedUpTo: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    position: number,
  ) {
    this.fetchedUpTo = position;
  }

  add({ records, nextOffset, endOffset }: FetchedPartition): void {
    if (this.head > 0 && this.head === this.records.length) {
      this.records = [];
      this.head = 0;
    }
    for (const record of records) this.records.push(record);
    this.fetchedUpTo = Math.max(this.fetchedUpTo, nextOffset);
    this.endOffset = endOffset;
  }

  get size(): number {
    return this.records.length - this.head;
  }

  peek(): FetchedRecord | undefined {
    return this.records[this.head];
  }

  poll(): FetchedRecord | undefined {
    const record = this.records[this.head];
    if (record === undefined) return undefined;
    this.head += 1;
    if (this.head > 4_096 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
    return record;
  }

  /** Empties the queue for a new position (a task revived from its last commit). */
  reset(position: number): void {
    this.records = [];
    this.head = 0;
    this.fetchedUpTo = position;
    this.endOffset = undefined;
  }

  /** Empty, and the last fetch said there is nothing more to read right now. */
  get caughtUp(): boolean {
    return this.size === 0 && this.endOffset !== undefined && this.fetchedUpTo >= this.endOffset;
  }
}

/**
 * The input partitions of a task and the choice of the next record: the one with the smallest
 * timestamp among the partitions' heads (Kafka Streams' PartitionGroup). A partition that is
 * empty but known to have records, or not yet fetched at all, makes the task wait, up to
 * `maxIdleMs`, so that, for example, stock written before an order is read before the order
 * is checked against it. A partition that is empty and read to its end does not hold the task.
 */
export class PartitionGroup {
  readonly queues: Map<string, RecordQueue>;
  private waitingSince: number | undefined;

  constructor(queues: readonly RecordQueue[]) {
    this.queues = new Map(queues.map((queue) => [queue.topic, queue]));
  }

  /** The queue whose head record is next, or undefined when the task has none or must wait. */
  next(now: number, maxIdleMs: number): RecordQueue | undefined {
    let best: RecordQueue | undefined;
    let bestTimestamp = Infinity;
    let blocked = false;
    for (const queue of this.queues.values()) {
      const head = queue.peek();
      if (head === undefined) {
        if (!queue.caughtUp) blocked = true;
        continue;
      }
      if (head.timestamp < bestTimestamp) {
        best = queue;
        bestTimestamp = head.timestamp;
      }
    }
    if (!best || !blocked) {
      this.waitingSince = undefined;
      return best;
    }
    this.waitingSince ??= now;
    return now - this.waitingSince >= maxIdleMs ? best : undefined;
  }

  /** When a waiting task stops waiting (undefined: it is not waiting). */
  idleDeadline(maxIdleMs: number): number | undefined {
    return this.waitingSince === undefined ? undefined : this.waitingSince + maxIdleMs;
  }
}
