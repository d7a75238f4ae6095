import { describe, expect, it } from 'vitest';
import { inputLag, StreamsMetrics, type TaskProgress } from '../src/engine/metrics.ts';
import { RecordQueue } from '../src/engine/partition-group.ts';
import { taskId } from '../src/task.ts';

const record = (offset: number) => ({ offset, timestamp: offset, key: null, value: null, headers: {} });

/** A running task as the snapshot reads it: its input queues and positions. */
function runningTask(queues: RecordQueue[], positions: Record<string, number>, state = 'running'): TaskProgress {
  return { state, queues: new Map(queues.map((queue) => [queue.topic, queue])), inputPositions: new Map(Object.entries(positions)) };
}

describe('StreamsMetrics', () => {
  it('gives a task the same counters every time, so they keep growing across the task moving away and back', () => {
    const metrics = new StreamsMetrics();
    const counters = metrics.task(taskId(0, 1));
    counters.processed += 3;
    counters.deadLetters += 1;
    expect(metrics.task(taskId(0, 1))).toBe(counters);
    metrics.task(taskId(0, 1)).processed += 2;
    expect(metrics.task(taskId(0, 1))).toEqual({ processed: 5, deadLetters: 1, restored: 0, skippedOnRestore: 0 });
    expect(metrics.task(taskId(1, 0))).toEqual({ processed: 0, deadLetters: 0, restored: 0, skippedOnRestore: 0 });
  });

  it('counts commits and their time, and hands each duration to the observer', () => {
    const commits: number[] = [];
    const restores: Array<[string, number]> = [];
    const metrics = new StreamsMetrics({ commit: (seconds) => commits.push(seconds), restore: (task, seconds) => restores.push([task, seconds]) });
    metrics.committed(0.01);
    metrics.committed(0.03);
    metrics.restored(taskId(0, 2), 1.5);
    expect(metrics.commits).toBe(2);
    expect(metrics.commitSeconds).toBeCloseTo(0.04);
    expect(commits).toEqual([0.01, 0.03]);
    expect(restores).toEqual([['0_2', 1.5]]);
    // Without an observer, the totals are still kept.
    const bare = new StreamsMetrics();
    bare.committed(0.02);
    bare.restored(taskId(0, 0), 1);
    expect(bare.commits).toBe(1);
  });

  it('snapshots counters of every task run, the states of the assigned tasks and the lag of the running ones', () => {
    const metrics = new StreamsMetrics();
    metrics.task(taskId(0, 0)).processed = 7;
    metrics.task(taskId(0, 1)).restored = 40;
    metrics.task(taskId(0, 9)).processed = 2; // a task this instance no longer has
    metrics.rebalances = 2;
    const orders = new RecordQueue('orders', 0, 10);
    orders.add({ topic: 'orders', partition: 0, records: [record(10), record(11), record(12)], nextOffset: 13, endOffset: 20, highWatermark: 20 });
    const stock = new RecordQueue('stock', 0, 5); // not fetched yet: no lag known
    const running = new Map([['0_0', runningTask([orders, stock], { orders: 10, stock: 5 })]]);

    const snapshot = metrics.snapshot({ applicationId: 'app', state: 'rebalancing', assigned: ['0_0', '0_1'], running });

    expect(snapshot).toMatchObject({ applicationId: 'app', state: 'rebalancing', rebalances: 2, commits: 0 });
    expect(Object.fromEntries(snapshot.tasks)).toEqual({ '0_0': 'running', '0_1': 'restoring' });
    expect(snapshot.lag).toEqual([{ task: '0_0', topic: 'orders', partition: 0, position: 10, endOffset: 20, lag: 10 }]);
    expect(Object.fromEntries(snapshot.taskCounters)).toEqual({
      '0_0': { processed: 7, deadLetters: 0, restored: 0, skippedOnRestore: 0 },
      '0_1': { processed: 0, deadLetters: 0, restored: 40, skippedOnRestore: 0 },
      '0_9': { processed: 2, deadLetters: 0, restored: 0, skippedOnRestore: 0 },
    });
    // A copy: later increments do not change a snapshot already taken.
    metrics.task(taskId(0, 0)).processed += 1;
    expect(snapshot.taskCounters.get('0_0')!.processed).toBe(7);
  });

  it('reports a task that is closing as not running and has no lag for it', () => {
    const queue = new RecordQueue('orders', 3, 0);
    queue.add({ topic: 'orders', partition: 3, records: [record(0)], nextOffset: 1, endOffset: 1, highWatermark: 1 });
    const snapshot = new StreamsMetrics().snapshot({ applicationId: 'app', state: 'running', assigned: ['0_3'], running: new Map([['0_3', runningTask([queue], { orders: 0 }, 'closed')]]) });
    expect(snapshot.tasks.get('0_3')).toBe('restoring');
    expect(snapshot.lag).toEqual([]);
  });
});

describe('inputLag', () => {
  it('counts the offsets from the next one to process to the end of the log', () => {
    expect(inputLag(10, 20, { size: 3, fetchedUpTo: 13 })).toBe(10);
  });

  it('is 0 for a queue read to the end past a transaction marker', () => {
    // Records 0-9, the commit marker at 10: the last stable offset is 11, the task is at 10.
    expect(inputLag(10, 11, { size: 0, fetchedUpTo: 11 })).toBe(0);
  });

  it('never goes below 0 (an end seen by an older fetch)', () => {
    expect(inputLag(15, 12, { size: 2, fetchedUpTo: 17 })).toBe(0);
  });
});
