import type { RecordQueue } from './partition-group.ts';
import type { StreamsState } from './streams-state.ts';
import type { TaskId } from '../task.ts';

/** What a snapshot reads of a running task: its state, and where each input partition is. */
export interface TaskProgress {
  readonly state: string;
  readonly queues: ReadonlyMap<string, RecordQueue>;
  readonly inputPositions: ReadonlyMap<string, number>;
}

/**
 * The runtime's metrics (Kafka Streams' `metrics()`), cheap enough for the hot path: the
 * counters are plain numbers on an object each task takes once, when it is created, and
 * increments per record (no lookup, no labels); the gauges (task states, consumer lag) are
 * computed only when someone asks for a snapshot (`KafkaStreams.metrics()`, e.g. at each
 * Prometheus scrape). Durations (commits, restores) are rare: besides their totals here, each
 * goes to an optional observer as it is measured, so an exporter can keep a histogram of them.
 * The runtime depends on no metrics library; the platform exports all of this to Prometheus.
 */

/** Counters of one task. They survive the task moving away and coming back: each only grows. */
export interface TaskCounters {
  /** Records processed (a record processed again after an aborted transaction counts again). */
  processed: number;
  /** Records sent to the dead-letter topic instead (not counted in `processed`). */
  deadLetters: number;
  /** Changelog records restored into the task's stores (it grows while a restore goes on). */
  restored: number;
  /**
   * Records of a table's source topic skipped while restoring it because they can never be read
   * (they were dead-lettered when first processed); a server being down is waited out instead.
   */
  skippedOnRestore: number;
}

/** Receives each duration as it is measured, e.g. a Prometheus histogram's `observe`. */
export interface MetricsObserver {
  /** A commit of every task (outputs, changelogs and offsets in one transaction) took `seconds`. */
  commit?(seconds: number): void;
  /** A task brought its stores up to their changelogs in `seconds`. */
  restore?(taskId: string, seconds: number): void;
}

/** How far one input partition of a running task is behind the end of its log. */
export interface InputLag {
  task: string;
  topic: string;
  partition: number;
  /** The next offset the task processes. */
  position: number;
  /** Where the partition ended at the last fetch (the last stable offset when reading committed). */
  endOffset: number;
  /** Records (offsets) between the two. */
  lag: number;
}

export type AssignedTaskState = 'restoring' | 'running';

export interface StreamsMetricsSnapshot {
  applicationId: string;
  state: StreamsState;
  /** Assignments the instance has taken, one per rebalance it took part in. */
  rebalances: number;
  commits: number;
  /** Time spent in those commits. */
  commitSeconds: number;
  /** The counters of every task the instance has run, by task id. */
  taskCounters: ReadonlyMap<string, Readonly<TaskCounters>>;
  /** The tasks assigned now: restoring (until their stores are up to date) or running. */
  tasks: ReadonlyMap<string, AssignedTaskState>;
  /** Consumer lag of each input partition of the running tasks, as of the last fetch. */
  lag: InputLag[];
}

/** The metrics an instance keeps: its counters and the observer of its durations. */
export class StreamsMetrics {
  rebalances = 0;
  commits = 0;
  commitSeconds = 0;
  private readonly counters = new Map<TaskId, TaskCounters>();

  constructor(private readonly observer: MetricsObserver = {}) {}

  /** The counters of a task, to keep and increment (the same object for the same task id). */
  task(taskId: TaskId): TaskCounters {
    let counters = this.counters.get(taskId);
    if (!counters) {
      counters = { processed: 0, deadLetters: 0, restored: 0, skippedOnRestore: 0 };
      this.counters.set(taskId, counters);
    }
    return counters;
  }

  committed(seconds: number): void {
    this.commits += 1;
    this.commitSeconds += seconds;
    this.observer.commit?.(seconds);
  }

  restored(taskId: TaskId, seconds: number): void {
    this.observer.restore?.(taskId, seconds);
  }

  /**
   * The current values: counters, the state of each assigned task (those not running yet are
   * restoring) and the lag of the running tasks' inputs.
   */
  snapshot(instance: { applicationId: string; state: StreamsState; assigned: readonly string[]; running: ReadonlyMap<string, TaskProgress> }): StreamsMetricsSnapshot {
    const tasks = new Map<string, AssignedTaskState>();
    const lag: InputLag[] = [];
    for (const id of instance.assigned) {
      const task = instance.running.get(id);
      tasks.set(id, task?.state === 'running' ? 'running' : 'restoring');
      if (task?.state !== 'running') continue;
      for (const queue of task.queues.values()) {
        const position = task.inputPositions.get(queue.topic);
        const { endOffset } = queue;
        if (position === undefined || endOffset === undefined) continue;
        lag.push({ task: id, topic: queue.topic, partition: queue.partition, position, endOffset, lag: inputLag(position, endOffset, queue) });
      }
    }
    return {
      applicationId: instance.applicationId,
      state: instance.state,
      rebalances: this.rebalances,
      commits: this.commits,
      commitSeconds: this.commitSeconds,
      taskCounters: new Map([...this.counters].map(([id, counters]) => [id, { ...counters }])),
      tasks,
      lag,
    };
  }
}

/**
 * The lag of one input partition: from the next offset to process to the end of the log as the
 * last fetch saw it (so the partition must have been fetched once). A queue with nothing
 * buffered has read everything up to its fetch position, transaction markers included (the
 * marker after a transaction's last record is no record to process, yet it takes an offset).
 */
export function inputLag(position: number, endOffset: number, queue: Pick<RecordQueue, 'fetchedUpTo' | 'size'>): number {
  const consumed = queue.size === 0 ? Math.max(position, queue.fetchedUpTo) : position;
  return Math.max(0, endOffset - consumed);
}
