import type { Admin } from '@platformatic/kafka';
import { beginningOffsets, committedOffsets, endOffsets, settledEndOffsets } from '../kafka/admin.ts';
import type { FetchedPartition } from '../kafka/fetcher.ts';
import { partitionKey, type TopicPartitionKey } from '../kafka/partition-key.ts';
import { describeError, sleep } from '../kafka/retry.ts';
import { taskId, type TaskId } from '../task.ts';
import type { Subtopology } from '../topology.ts';
import { ReadStopped } from './changelog-reader.ts';
import { ActiveTask, type TaskContext, type TaskOffsets } from './active-task.ts';
import { PartitionGroup, type RecordQueue } from './partition-group.ts';
import type { TopicPartitionOffset, WrittenOffsets } from './record-collector.ts';

/** What the task manager needs from the instance's consumer: where to read each input partition. */
export interface InputControl {
  assign(topic: string, partition: number, offset: number): void;
  unassign(topic: string, partition: number): void;
  seek(topic: string, partition: number, offset: number): void;
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
}

export interface TaskManagerOptions {
  context: TaskContext;
  admin: Admin;
  groupId: string;
  input: InputControl;
  /** Called when a task is running or failed to start (the instance re-evaluates its state). */
  onTaskChange: () => void;
  /** A task that could not start is retried after this long (default 1 s). */
  retryStartMs?: number;
}

/** Partitions with more buffered records than this stop being fetched until the task catches up. */
const maxBufferedPerPartition = 2_000;

/**
 * The tasks of an instance (Kafka Streams' TaskManager): creates them for an assignment
 * (restore, then start at the committed offsets), closes those taken away, routes fetched
 * records to them, picks the task whose next record comes first, and drives commits and
 * revivals across all of them.
 */
export class TaskManager {
  readonly tasks = new Map<TaskId, ActiveTask>();
  private readonly byInput = new Map<TopicPartitionKey, ActiveTask>();
  /** The group a running task's partitions are ordered in: its own, or its sub-topology's when that re-keys. */
  private readonly groupOfTask = new Map<ActiveTask, PartitionGroup>();
  private readonly subtopologyGroups = new Map<number, PartitionGroup>();
  private readonly taskOfQueue = new Map<RecordQueue, ActiveTask>();
  /** Tasks restoring or waiting to retry their start, with the promise of that start. */
  private readonly starting = new Map<TaskId, { task: ActiveTask; started: Promise<void> }>();
  private assigned = new Set<TaskId>();
  private closing = false;
  /** Aborted by `closeAll`: a task waiting to retry its start stops waiting. */
  private closed = new AbortController();

  constructor(private readonly options: TaskManagerOptions) {}

  /** Task ids of the current assignment, whether running or still starting. */
  get assignedTasks(): string[] {
    return [...this.assigned].sort();
  }

  get allRunning(): boolean {
    return [...this.assigned].every((id) => this.tasks.get(id)?.state === 'running');
  }

  /** Starts the tasks newly assigned, closes those no longer assigned (they were committed before the rebalance). */
  async handleAssignment(assignment: ReadonlyArray<{ subtopology: Subtopology<string>; partition: number }>): Promise<void> {
    const wanted = new Map(assignment.map((entry) => [taskId(entry.subtopology.id, entry.partition), entry]));
    this.assigned = new Set(wanted.keys());
    for (const [id, task] of this.tasks) {
      if (wanted.has(id)) continue;
      await this.closeTask(task);
    }
    // A task taken away while restoring stops reading its changelogs (its start then closes it).
    for (const [id, { task }] of this.starting) if (!wanted.has(id)) this.stopRestore(task);
    for (const [id, { subtopology, partition }] of wanted) {
      if (!this.tasks.has(id) && !this.starting.has(id)) this.startTask(subtopology, partition);
    }
  }

  private startTask(subtopology: Subtopology<string>, partition: number): void {
    const task = new ActiveTask(this.options.context, subtopology, partition);
    const started = this.initialize(task).finally(() => {
      if (this.starting.get(task.id)?.task === task) this.starting.delete(task.id);
    });
    this.starting.set(task.id, { task, started });
  }

  private stopRestore(task: ActiveTask): void {
    const { reader, topology } = this.options.context;
    for (const store of task.subtopology.stores) reader.stop(topology.store(store).changelogTopic, task.partition);
  }

  private async initialize(task: ActiveTask): Promise<void> {
    const { context, groupId, input } = this.options;
    const started = Date.now();
    try {
      const offsets = await this.readOffsets(task);
      const restored = await task.restore(offsets);
      if (!this.assigned.has(task.id) || this.closing) {
        await task.close();
        return;
      }
      const starts = await task.start(offsets);
      this.tasks.set(task.id, task);
      this.join(task);
      for (const [topic, offset] of starts) {
        this.byInput.set(partitionKey(topic, task.partition), task);
        input.assign(topic, task.partition, offset);
      }
      context.logger.info({ task: task.id, restoredRecords: restored, ms: Date.now() - started, positions: Object.fromEntries(starts) }, 'task running');
    } catch (error) {
      await task.close();
      if (this.closing) return;
      // A restore stopped because the task was taken away starts over if the task comes back.
      if (!(error instanceof ReadStopped)) {
        context.logger.warn({ task: task.id, group: groupId, error: describeError(error) }, 'task failed to start; retrying');
        await sleep(this.options.retryStartMs ?? 1_000, this.closed.signal);
      }
      if (this.assigned.has(task.id) && !this.tasks.has(task.id) && !this.closing) this.startTask(task.subtopology, task.partition);
    } finally {
      this.options.onTaskChange();
    }
  }

  private async readOffsets(task: ActiveTask): Promise<TaskOffsets> {
    const { admin, groupId, context } = this.options;
    const partitions = new Map<string, number[]>();
    for (const topic of task.inputTopics) partitions.set(topic, [task.partition]);
    for (const store of task.subtopology.stores) partitions.set(context.topology.store(store).changelogTopic, [task.partition]);
    const inputs = new Map([...partitions].filter(([topic]) => task.inputTopics.includes(topic)));
    const changelogs = new Set(task.subtopology.stores.map((store) => context.topology.store(store)).filter((store) => store.changelog.kind === 'internal').map((store) => store.changelogTopic));
    // Committed offsets first: once they are stable, no earlier owner's transaction can add to
    // the changelogs any more; then the changelogs' ends, once the last transaction's markers are there.
    const committed = await committedOffsets(admin, groupId, inputs);
    const [starts, ends, settled] = await Promise.all([
      beginningOffsets(admin, partitions),
      endOffsets(admin, new Map([...partitions].filter(([topic]) => !changelogs.has(topic))), true),
      // An abandoned transaction (its instance died) is aborted by the broker after its timeout: not waited for longer.
      settledEndOffsets(admin, new Map([...partitions].filter(([topic]) => changelogs.has(topic))), 10_000),
    ]);
    if (settled.unsettled.length > 0) context.logger.warn({ task: task.id, partitions: settled.unsettled }, 'a transaction is still open on the changelogs; restoring what is committed');
    for (const [topic, offsets] of settled.ends) ends.set(topic, offsets);
    const logs = new Map<string, { start: number; end: number }>();
    for (const topic of partitions.keys()) logs.set(topic, { start: starts.get(topic)?.get(task.partition) ?? 0, end: ends.get(topic)?.get(task.partition) ?? 0 });
    return { committed: new Map([...committed].flatMap(([topic, offsets]) => (offsets.has(task.partition) ? [[topic, offsets.get(task.partition)!]] : []))), logs };
  }

  /** Puts a started task's partitions in their group (see PartitionGroup: which records wait for which). */
  private join(task: ActiveTask): void {
    let group: PartitionGroup;
    if (this.options.context.crossPartitionOrder && this.options.context.topology.rekeys(task.subtopology)) {
      group = this.subtopologyGroups.get(task.subtopology.id) ?? new PartitionGroup(true);
      this.subtopologyGroups.set(task.subtopology.id, group);
    } else {
      group = new PartitionGroup(false);
    }
    this.groupOfTask.set(task, group);
    for (const queue of task.queues.values()) {
      group.addQueue(queue);
      this.taskOfQueue.set(queue, task);
    }
  }

  private leave(task: ActiveTask): void {
    const group = this.groupOfTask.get(task);
    this.groupOfTask.delete(task);
    for (const queue of task.queues.values()) {
      group?.removeQueue(queue);
      this.taskOfQueue.delete(queue);
    }
    if (group?.isEmpty) this.subtopologyGroups.delete(task.subtopology.id);
  }

  private async closeTask(task: ActiveTask): Promise<void> {
    this.tasks.delete(task.id);
    this.leave(task);
    for (const topic of task.inputTopics) {
      this.byInput.delete(partitionKey(topic, task.partition));
      this.options.input.unassign(topic, task.partition);
    }
    this.stopRestore(task);
    await task.close();
  }

  /** Hands fetched records to their task; pauses partitions whose queue is long. */
  addRecords(fetched: FetchedPartition): void {
    const task = this.byInput.get(partitionKey(fetched.topic, fetched.partition));
    const queue = task?.queues.get(fetched.topic);
    const group = task && this.groupOfTask.get(task);
    if (!queue || !group) return;
    group.add(queue, fetched);
    if (queue.size > maxBufferedPerPartition) this.options.input.pause(fetched.topic, fetched.partition);
  }

  /** The task and queue holding the record to process next: the smallest head timestamp among the groups that may process. */
  next(now: number, maxIdleMs: number): { task: ActiveTask; queue: RecordQueue } | undefined {
    for (const [id, group] of this.subtopologyGroups) {
      let pending = 0;
      for (const { task } of this.starting.values()) if (task.subtopology.id === id) pending += 1;
      group.pendingTasks = pending;
    }
    let best: { task: ActiveTask; queue: RecordQueue } | undefined;
    let bestTimestamp = Infinity;
    for (const group of new Set(this.groupOfTask.values())) {
      const queue = group.next(now, maxIdleMs, (candidate) => this.taskOfQueue.get(candidate)?.mayProcess(now) === true);
      if (!queue) continue;
      const timestamp = queue.peek()!.timestamp;
      if (timestamp < bestTimestamp) {
        best = { task: this.taskOfQueue.get(queue)!, queue };
        bestTimestamp = timestamp;
      }
    }
    return best;
  }

  /** Runs every running task's due punctuations. */
  async punctuate(now: number): Promise<void> {
    for (const task of this.tasks.values()) await task.punctuate(now);
  }

  /** Resumes fetching partitions whose queue has room again. */
  resumeDrained(): void {
    for (const task of this.tasks.values()) {
      for (const queue of task.queues.values()) if (queue.size < maxBufferedPerPartition / 2) this.options.input.resume(queue.topic, queue.partition);
    }
  }

  /** The earliest time a group stops waiting, or a task may retry, without new records arriving. */
  wakeUpAt(maxIdleMs: number): number | undefined {
    const now = Date.now();
    let earliest: number | undefined;
    const consider = (at: number | undefined) => {
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    };
    for (const group of new Set(this.groupOfTask.values())) consider(group.idleDeadline(maxIdleMs));
    for (const task of this.tasks.values()) {
      consider(task.retryDeadline(now));
      consider(task.nextPunctuation);
    }
    return earliest;
  }

  /** Fetched records not processed yet, per task that has any. */
  get bufferedRecords(): Record<string, number> {
    const buffered: Record<string, number> = {};
    for (const [id, task] of this.tasks) {
      let count = 0;
      for (const queue of task.queues.values()) count += queue.size;
      if (count > 0) buffered[id] = count;
    }
    return buffered;
  }

  get hasUncommittedWork(): boolean {
    for (const task of this.tasks.values()) if (task.hasUncommittedWork) return true;
    return false;
  }

  /** Every task's changelog records to the collector; returns the input offsets to commit. */
  prepareCommit(): TopicPartitionOffset[] {
    return [...this.tasks.values()].flatMap((task) => task.prepareCommit());
  }

  async completeCommit(written: WrittenOffsets): Promise<void> {
    for (const task of this.tasks.values()) await task.completeCommit(written);
  }

  /** Every task back to its last commit (the transaction was aborted); input is read again from there. */
  async reviveAll(): Promise<void> {
    for (const task of this.tasks.values()) {
      const positions = await task.revive();
      for (const [topic, offset] of positions) this.options.input.seek(topic, task.partition, offset);
    }
  }

  /**
   * Closes every task, after a final commit by the caller or dropping uncommitted work. Unless
   * `final`, the manager takes new assignments afterwards.
   */
  async closeAll(final = true): Promise<void> {
    this.closing = true;
    this.assigned.clear();
    this.closed.abort();
    for (const { task } of this.starting.values()) this.stopRestore(task);
    await Promise.allSettled([...this.starting.values()].map(({ started }) => started));
    for (const task of [...this.tasks.values()]) await this.closeTask(task);
    this.closed = new AbortController();
    this.closing = final;
  }
}
