import { describe, expect, it } from 'vitest';
import { PartitionGroup, RecordQueue } from '../src/engine/partition-group.ts';

const record = (offset: number, timestamp: number) => ({ offset, timestamp, key: null, value: null, headers: {} });
const fetched = (queue: RecordQueue, records: Array<ReturnType<typeof record>>, end: { endOffset: number; highWatermark?: number; nextOffset?: number }) => ({
  topic: queue.topic,
  partition: queue.partition,
  records,
  nextOffset: end.nextOffset ?? (records.length > 0 ? records.at(-1)!.offset + 1 : queue.fetchedUpTo),
  endOffset: end.endOffset,
  highWatermark: end.highWatermark ?? end.endOffset,
});
const always = () => true;

describe('PartitionGroup', () => {
  it('takes the smallest head timestamp first across its partitions', () => {
    const group = new PartitionGroup(false);
    const left = new RecordQueue('orders', 0, 0);
    const right = new RecordQueue('orders', 1, 0);
    group.addQueue(left);
    group.addQueue(right);
    group.add(left, fetched(left, [record(0, 30), record(1, 40)], { endOffset: 2 }));
    group.add(right, fetched(right, [record(0, 10), record(1, 35)], { endOffset: 2 }));
    const order: number[] = [];
    for (let queue = group.next(0, 1_000, always); queue; queue = group.next(0, 1_000, always)) order.push(queue.poll()!.timestamp);
    expect(order).toEqual([10, 30, 35, 40]);
  });

  it('waits, at most maxIdleMs, for a partition known to have records it has not fetched yet', () => {
    const group = new PartitionGroup(false);
    const stock = new RecordQueue('stock', 0, 0);
    const orders = new RecordQueue('orders', 0, 0);
    group.addQueue(stock);
    group.addQueue(orders);
    group.add(orders, fetched(orders, [record(0, 50)], { endOffset: 1 }));
    // stock was never fetched: the order waits for it, then goes on without it.
    expect(group.next(1_000, 500, always)).toBeUndefined();
    expect(group.idleDeadline(500)).toBe(1_500);
    expect(group.next(1_499, 500, always)).toBeUndefined();
    expect(group.next(1_500, 500, always)).toBe(orders);
    // A partition read to its end does not hold anyone.
    group.add(stock, fetched(stock, [], { endOffset: 0 }));
    expect(group.next(2_000, 500, always)).toBe(orders);
  });

  it('ordering across partitions: a record waits for what the other partitions had when it arrived but could not be read yet', () => {
    const group = new PartitionGroup(true);
    const first = new RecordQueue('orders', 0, 0);
    const second = new RecordQueue('orders', 1, 0);
    group.addQueue(first);
    group.addQueue(second);
    // Partition 0: two records behind another producer's open transaction (last stable offset 0, high watermark 2).
    group.add(first, fetched(first, [], { endOffset: 0, highWatermark: 2 }), 0);
    group.add(second, fetched(second, [record(0, 200)], { endOffset: 1 }), 0);
    expect(group.next(0, 1_000, always)).toBeUndefined();
    // The transaction ends: partition 0's records are read (with the transaction's marker), and the earlier one goes first.
    group.add(first, fetched(first, [record(0, 100), record(1, 150)], { endOffset: 3, nextOffset: 3 }), 10);
    expect(group.next(10, 1_000, always)!.poll()!.timestamp).toBe(100);
    expect(group.next(10, 1_000, always)!.poll()!.timestamp).toBe(150);
    expect(group.next(10, 1_000, always)!.poll()!.timestamp).toBe(200);
  });

  it('ordering across partitions: waits for tasks that are not running yet, and for a task that may not process now', () => {
    const group = new PartitionGroup(true);
    const queue = new RecordQueue('orders', 0, 0);
    group.addQueue(queue);
    group.add(queue, fetched(queue, [record(0, 100)], { endOffset: 1 }));
    group.pendingTasks = 1;
    expect(group.next(0, 1_000, always)).toBeUndefined();
    group.pendingTasks = 0;
    expect(group.next(0, 1_000, () => false)).toBeUndefined();
    expect(group.next(0, 1_000, always)).toBe(queue);
  });

  it('ordering across partitions: a backlog whose records each wait for the others goes on after one idle time, not one record per idle time', () => {
    // A backlog read in one fetch answer, partition after partition: the later partitions'
    // records arrive while the earlier ones are known to go further (their high watermark)
    // than fetched, so each carries a barrier it cannot meet until much later.
    const group = new PartitionGroup(true);
    const queues = [0, 1, 2].map((partition) => new RecordQueue('orders', partition, 0));
    for (const queue of queues) group.addQueue(queue);
    for (const queue of queues) {
      const records = Array.from({ length: 3_000 }, (_, offset) => record(offset, offset * 3 + queue.partition));
      group.add(queue, fetched(queue, records, { endOffset: 6_600, nextOffset: 3_000 }), 0);
    }
    let now = 0;
    let processed = 0;
    while (now <= 10_000 && processed < 9_000) {
      const queue = group.next(now, 1_000, always);
      if (queue) {
        queue.poll();
        processed += 1;
      } else {
        now = group.idleDeadline(1_000) ?? now + 100;
      }
    }
    // The first partition's records wait for nothing; the others' wait once, from their arrival;
    // when the first partition runs dry (not read to its end), the group waits once for it.
    expect(processed).toBe(9_000);
    expect(now).toBe(2_000);
  });
});
