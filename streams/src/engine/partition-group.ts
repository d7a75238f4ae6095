import type { FetchedPartition, FetchedRecord } from '../kafka/fetcher.ts';

/**
 * The offsets each input partition had reached (its high watermark, as last fetched) when a
 * record arrived: everything below them was written before the record was fetched. The record
 * waits for them from its arrival, at most the group's idle time.
 */
interface Barrier {
  offsets: ReadonlyMap<RecordQueue, number>;
  arrivedAt: number;
}

/** The fetched, not yet processed records of one input partition of a task. */
export class RecordQueue {
  private records: FetchedRecord[] = [];
  private barriers: Array<Barrier | undefined> = [];
  private head = 0;
  /** Where the partition ended at the last fetch (the last stable offset when reading committed). */
  endOffset: number | undefined;
  /** The partition's high watermark at the last fetch: above the last stable offset, records of open transactions wait. */
  highWatermark = 0;
  /** The fetcher's position after the last answer: what was fetched so far. */
  fetchedUpTo: number;

  constructor(
    readonly topic: string,
    readonly partition: number,
    position: number,
  ) {
    this.fetchedUpTo = position;
  }

  add({ records, nextOffset, endOffset, highWatermark }: FetchedPartition, barrier?: Barrier): void {
    if (this.head > 0 && this.head === this.records.length) {
      this.records = [];
      this.barriers = [];
      this.head = 0;
    }
    for (const record of records) {
      this.records.push(record);
      this.barriers.push(barrier);
    }
    this.fetchedUpTo = Math.max(this.fetchedUpTo, nextOffset);
    this.endOffset = endOffset;
    this.highWatermark = Math.max(this.highWatermark, highWatermark);
  }

  get size(): number {
    return this.records.length - this.head;
  }

  peek(): FetchedRecord | undefined {
    return this.records[this.head];
  }

  /** The barrier of the head record: the other partitions' offsets it must wait for. */
  headBarrier(): Barrier | undefined {
    return this.barriers[this.head];
  }

  poll(): FetchedRecord | undefined {
    const record = this.records[this.head];
    if (record === undefined) return undefined;
    this.head += 1;
    if (this.head > 4_096 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.barriers = this.barriers.slice(this.head);
      this.head = 0;
    }
    return record;
  }

  /** Empties the queue for a new position (a task revived from its last commit). */
  reset(position: number): void {
    this.records = [];
    this.barriers = [];
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
 * Input partitions whose records are processed in timestamp order (Kafka Streams'
 * PartitionGroup): the record with the smallest timestamp among the partitions' heads goes
 * first. A partition that is empty but known to have records, or not yet fetched at all, makes
 * the group wait, up to `maxIdleMs`, so that, for example, stock written before an order is
 * read before the order is checked against it. A partition that is empty and read to its end
 * does not hold the group.
 *
 * A group is one task's partitions, as in Kafka Streams, or, for a sub-topology that re-keys its
 * records (writes them to a repartition topic), the partitions of all its tasks on the instance:
 * the records of one new key then leave in timestamp order, whatever partition each came from
 * (the orders of one customer, posted one after another, reach the customer's task in posting
 * order). Such a group also waits for what was written before a record but is not readable yet:
 * a record written to one partition right after another producer opened a transaction there
 * stays hidden until that transaction ends, while a later record of another partition is
 * visible at once. Each record carries the other partitions' high watermarks as of its arrival
 * (its barrier), and goes only once each of them is fetched that far (or after `maxIdleMs`).
 */
export class PartitionGroup {
  private readonly queues = new Set<RecordQueue>();
  /** Since when a partition with no records has held the group (see `next`). */
  private waitingSince: number | undefined;
  /** When the head record that holds the group stops waiting for its barrier. */
  private barrierDeadline: number | undefined;
  /** Tasks of the group that are assigned but not running yet: their partitions are not fetched. */
  pendingTasks = 0;

  constructor(readonly crossPartitionOrder: boolean) {}

  addQueue(queue: RecordQueue): void {
    this.queues.add(queue);
  }

  removeQueue(queue: RecordQueue): void {
    this.queues.delete(queue);
  }

  get isEmpty(): boolean {
    return this.queues.size === 0;
  }

  /** Hands fetched records to their queue, with their barrier when the group orders across partitions. */
  add(queue: RecordQueue, fetched: FetchedPartition, now = Date.now()): void {
    let barrier: Barrier | undefined;
    if (this.crossPartitionOrder && fetched.records.length > 0 && this.queues.size > 1) {
      const offsets = new Map<RecordQueue, number>();
      for (const other of this.queues) if (other !== queue && other.highWatermark > other.fetchedUpTo) offsets.set(other, other.highWatermark);
      if (offsets.size > 0) barrier = { offsets, arrivedAt: now };
    }
    queue.add(fetched, barrier);
  }

  /**
   * The queue whose head record is next, or undefined when the group has none or must wait.
   * `mayProcess` excludes queues whose task cannot process now (a retry pending): their heads
   * still count, so the group waits for them rather than overtake them.
   */
  next(now: number, maxIdleMs: number, mayProcess: (queue: RecordQueue) => boolean): RecordQueue | undefined {
    let best: RecordQueue | undefined;
    let bestTimestamp = Infinity;
    let partitionMissing = this.crossPartitionOrder && this.pendingTasks > 0;
    for (const queue of this.queues) {
      const head = queue.peek();
      if (head === undefined) {
        if (!queue.caughtUp) partitionMissing = true;
        continue;
      }
      if (head.timestamp < bestTimestamp) {
        best = queue;
        bestTimestamp = head.timestamp;
      }
    }
    this.barrierDeadline = undefined;
    if (best && !mayProcess(best)) return undefined;
    if (!best || !partitionMissing) {
      this.waitingSince = undefined;
    } else {
      // A partition known to have records, or not fetched yet: the group waits for it, from the
      // moment it has a record to process, as Kafka Streams' max.task.idle.ms.
      this.waitingSince ??= now;
      if (now - this.waitingSince < maxIdleMs) return undefined;
    }
    // The head's own wait, counted from its arrival: a run of records that each wait a little
    // must not add up (only one record of a run would go per idle time).
    const barrier = best?.headBarrier();
    if (barrier && now - barrier.arrivedAt < maxIdleMs) {
      for (const [other, offset] of barrier.offsets) {
        if (this.queues.has(other) && other.fetchedUpTo < offset) {
          this.barrierDeadline = barrier.arrivedAt + maxIdleMs;
          return undefined;
        }
      }
    }
    return best;
  }

  /** When a waiting group stops waiting (undefined: it is not waiting). */
  idleDeadline(maxIdleMs: number): number | undefined {
    const groupDeadline = this.waitingSince === undefined ? undefined : this.waitingSince + maxIdleMs;
    if (groupDeadline === undefined || this.barrierDeadline === undefined) return groupDeadline ?? this.barrierDeadline;
    return Math.min(groupDeadline, this.barrierDeadline);
  }
}
