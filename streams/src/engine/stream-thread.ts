import { errorIds, isFencing } from '../kafka/errors.ts';
import { describeError, retry, sleep } from '../kafka/retry.ts';
import type { ResolvedTopology, Subtopology } from '../topology.ts';
import type { GroupAssignment, GroupMembership } from './group-membership.ts';
import type { RuntimeLogger } from './logger.ts';
import type { StreamsMetrics } from './metrics.ts';
import type { PartitionOwners } from './owners.ts';
import type { GroupGeneration, ProcessingGuarantee, RecordCollector } from './record-collector.ts';
import type { TaskManager } from './task-manager.ts';

export interface StreamThreadOptions {
  applicationId: string;
  topology: ResolvedTopology;
  guarantee: ProcessingGuarantee;
  commitIntervalMs: number;
  maxTaskIdleMs: number;
  /** How long a rebalance waits for the members (the member joins again at most half of it after a rebalance began). */
  rebalanceTimeoutMs: number;
  collector: RecordCollector;
  taskManager: TaskManager;
  membership: GroupMembership;
  owners: PartitionOwners;
  metrics: StreamsMetrics;
  logger: RuntimeLogger;
  /** A rebalance began or an assignment arrived: the instance is rebalancing. */
  onRebalancing: () => void;
  /** The rebalance is over and every task runs. */
  onRunning: () => void;
}

/** What the loop is doing: every step but waiting is bounded (by timeouts, retries' deadlines, the slice length). */
export type LoopStep = 'recovering' | 'rebalancing' | 'processing' | 'punctuating' | 'committing' | 'waiting';

/** Answers to an offset commit saying the member's generation is over. */
const groupFencingIds = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);

/** Records the loop processes before it looks at rebalances, commits and the event loop again. */
const maxRecordsPerSlice = 1_000;
const maxSliceMs = 25;
/** Outputs waiting to be sent beyond which processing waits for the producer. */
const maxPendingOutputs = 20_000;

/**
 * The transaction committed, but writing its store changes to LevelDB afterwards failed (a full
 * disk, say): the local state is behind what the broker has committed.
 */
class LocalStateBehind extends Error {
  constructor(override readonly cause: unknown) {
    super(`the transaction committed but the local stores could not take its changes: ${describeError(cause)}`);
    this.name = 'LocalStateBehind';
  }
}

/**
 * A commit failed part-way: the broker may have committed the transaction all the same (an
 * EndTxn it wrote before the connection broke is completed when the broker is back). Going back
 * to the tasks' own last commit would process the same records a second time.
 */
class CommitOutcomeUnknown extends Error {
  constructor(override readonly cause: unknown) {
    super(`the commit failed and may have happened all the same: ${describeError(cause)}`);
    this.name = 'CommitOutcomeUnknown';
  }
}

/**
 * Kafka Streams' StreamThread: the loop that takes the record with the smallest timestamp among
 * its tasks' fetched records and processes it, commits all tasks together in one transaction
 * every commit interval, recovers from failed sends and commits, and handles rebalances eagerly.
 * The instance (KafkaStreams) builds its parts and starts it; the group member tells it when a
 * rebalance begins and what the new assignment is.
 */
export class StreamThread {
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** A wake-up that came while the loop was not waiting (set by `wake`, cleared at each turn of the loop). */
  private wokenMeanwhile = false;
  private lastCommit = Date.now();
  /** A rebalance began and the loop has not committed for it yet. */
  private rebalanceStarted = false;
  private committedForRebalance = false;
  private pendingAssignment: GroupAssignment | undefined;
  /** The generation of the assignment the tasks run under: offsets are committed for it. */
  private generation: GroupGeneration | undefined;
  private assignment: GroupAssignment | undefined;
  /** Resolves the group member's wait at the start of a rebalance, once the loop has committed for it. */
  private rebalanceCommitted: (() => void) | undefined;
  private needsRecovery: unknown;
  /** Aborted by `shutdown`: a recovery waiting to retry stops waiting. */
  private readonly closing = new AbortController();
  /** The loop's current step and since when (the stall watch reads it); updated in place, as it changes several times per turn. */
  private readonly step: { name: LoopStep; since: number } = { name: 'waiting', since: Date.now() };
  private lastProcessedAt = Date.now();

  constructor(private readonly options: StreamThreadOptions) {}

  /** The step the loop is in and since when: any step but waiting ends within seconds. */
  get currentStep(): { readonly name: LoopStep; readonly since: number } {
    return this.step;
  }

  /** When the loop last processed a record. */
  get lastProcessed(): number {
    return this.lastProcessedAt;
  }

  private enter(name: LoopStep): void {
    this.step.name = name;
    this.step.since = Date.now();
  }

  private get stopping(): boolean {
    return this.closing.signal.aborted;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** A rebalance began: resolves once the loop has committed under the ending generation (or at half the rebalance timeout). */
  rebalanceBegins(): Promise<void> {
    this.rebalanceStarted = true;
    this.options.owners.invalidate();
    this.options.onRebalancing();
    const committed = new Promise<void>((resolve) => (this.rebalanceCommitted = resolve));
    this.wake();
    // A loop that cannot commit in time must not keep the whole group waiting: the member joins anyway.
    return Promise.race([committed, sleep(this.options.rebalanceTimeoutMs / 2, this.closing.signal)]);
  }

  /** This member's share of a completed rebalance: taken at the loop's next turn. */
  assignmentArrived(assignment: GroupAssignment): void {
    this.pendingAssignment = assignment;
    this.options.owners.invalidate();
    this.options.onRebalancing();
    this.wake();
  }

  /**
   * Ends the loop after the record in progress; commits what is uncommitted (unless the last
   * failure is not recovered from), drops the rest, and closes the tasks.
   */
  async shutdown(): Promise<void> {
    this.closing.abort();
    this.wake();
    await this.loop;
    if (this.loop) {
      if (this.needsRecovery === undefined && this.generation && (this.options.taskManager.hasUncommittedWork || this.options.collector.hasOpenTransaction)) {
        await this.commit().catch((error: unknown) => this.options.logger.warn({ error: describeError(error) }, 'final commit failed; uncommitted work is dropped'));
      }
      await this.options.collector.abort().catch(() => undefined);
      await this.options.taskManager.closeAll();
    }
    this.rebalanceCommitted?.();
  }

  /** Ends the loop's wait for work; when it is not waiting (busy committing), its next wait returns at once. */
  wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    if (wakeUp) wakeUp();
    else this.wokenMeanwhile = true;
  }

  /** The loop: rebalances, processing, commits, recovery, until `shutdown`. */
  private async run(): Promise<void> {
    while (!this.stopping) {
      // Whatever arrives from here on is either seen by this slice or wakes the next wait.
      this.wokenMeanwhile = false;
      try {
        if (this.needsRecovery !== undefined) {
          this.enter('recovering');
          await this.recover();
        }
        if (this.rebalanceStarted || this.pendingAssignment) {
          this.enter('rebalancing');
          await this.handleRebalance();
        }
        this.enter('processing');
        const processed = await this.processSlice();
        if (processed > 0) this.lastProcessedAt = Date.now();
        if (!this.rebalanceStarted && !this.pendingAssignment && !this.options.collector.failed) {
          this.enter('punctuating');
          await this.options.taskManager.punctuate(Date.now());
        }
        this.options.collector.sliceEnded();
        this.options.taskManager.resumeDrained();
        if (this.commitNeeded()) {
          this.enter('committing');
          await this.commit();
        }
        this.enter('waiting');
        if (processed === 0) await this.waitForWork();
        else await new Promise((resolve) => setImmediate(resolve));
      } catch (error) {
        this.needsRecovery = error;
      }
    }
  }

  private async processSlice(): Promise<number> {
    const started = Date.now();
    let processed = 0;
    while (processed < maxRecordsPerSlice && !this.stopping && !this.rebalanceStarted && !this.pendingAssignment && !this.options.collector.failed) {
      const now = Date.now();
      if (processed > 0 && (now - started > maxSliceMs || now - this.lastCommit >= this.options.commitIntervalMs)) break;
      const next = this.options.taskManager.next(now, this.options.maxTaskIdleMs);
      if (!next) break;
      await next.task.processHead(next.queue);
      processed += 1;
      if (this.options.collector.pending > maxPendingOutputs) await this.options.collector.flush();
    }
    return processed;
  }

  /**
   * As Kafka Streams does: once the commit interval has passed since the last commit, if anything
   * waits for one. So an instance runs at most one transaction per interval, whatever its load
   * (each costs the broker an EndTxn, a marker per partition touched and the offsets' write);
   * the interval is the latency an output waits, at most, to become visible.
   */
  private commitNeeded(): boolean {
    if (this.options.collector.failed) return true;
    if (!this.options.collector.hasOpenTransaction && this.options.collector.pending === 0 && !this.options.taskManager.hasUncommittedWork) return false;
    return Date.now() - this.lastCommit >= this.options.commitIntervalMs;
  }

  private async commit(): Promise<void> {
    const started = performance.now();
    const offsets = this.options.taskManager.prepareCommit();
    const written = await this.options.collector.commit(offsets, this.generation, (committed) => this.options.membership.commitOffsets(committed)).catch((error: unknown) => {
      throw new CommitOutcomeUnknown(error);
    });
    try {
      await this.options.taskManager.completeCommit(written);
    } catch (error) {
      throw new LocalStateBehind(error);
    }
    this.lastCommit = Date.now();
    this.options.metrics.committed((performance.now() - started) / 1_000);
  }

  /**
   * After a failed send or commit: the open transaction is aborted (a fenced or broken producer
   * replaced) and every task goes back to its last commit. Retried until it works.
   */
  private async recover(): Promise<void> {
    const reason = this.needsRecovery;
    this.options.logger.warn({ error: describeError(reason), fenced: isFencing(reason) }, 'aborting uncommitted work; tasks resume from their last commit');
    if (!this.pendingAssignment && [...errorIds(reason)].some((id) => groupFencingIds.has(id))) {
      // The group no longer counts this member in the generation its tasks run under: nothing
      // is processed until it has joined again and knows its tasks.
      this.rebalanceStarted = true;
      this.committedForRebalance = true;
      this.options.membership.rejoin();
    }
    // Only after a failed send is the transaction surely aborted; after a failed commit the tasks
    // cannot know their last commit, and their stores may lack a committed one.
    const restart = reason instanceof LocalStateBehind || reason instanceof CommitOutcomeUnknown;
    await retry(
      async () => {
        await this.options.collector.abort();
        if (!restart) {
          await this.options.taskManager.reviveAll();
          return;
        }
        // The tasks' own idea of their last commit may be behind the broker's. They start over
        // from what the broker has: the committed offsets (read once no transaction holds them),
        // and the stores restored from their changelogs.
        await this.options.taskManager.closeAll(false);
        if (this.assignment) await this.options.taskManager.handleAssignment(this.tasksOf(this.assignment));
      },
      { initialDelayMs: 200, maxDelayMs: 5_000, signal: this.closing.signal, onRetry: (error, attempt) => this.options.logger.warn({ attempt, error: describeError(error) }, 'recovery failed; retrying') },
    );
    this.needsRecovery = undefined;
    this.lastCommit = Date.now();
  }

  /**
   * Eager rebalancing, as Kafka Streams' stream thread does it: at the start of a rebalance the
   * instance commits under the generation that is ending and stops processing; when its new
   * assignment arrives it closes the tasks it lost and starts the new ones. An assignment that
   * was not preceded by such a commit (the instance was thrown out of the group, e.g. after
   * being paused past its session timeout) means other instances may have run its tasks
   * meanwhile: its uncommitted work is dropped and every task restarts from the group's
   * committed state.
   */
  private async handleRebalance(): Promise<void> {
    if (this.rebalanceStarted && !this.committedForRebalance) {
      this.committedForRebalance = true;
      if (this.options.taskManager.hasUncommittedWork || this.options.collector.hasOpenTransaction) {
        await this.commit().catch((error: unknown) => {
          this.needsRecovery = error;
          this.committedForRebalance = false;
        });
      }
      this.rebalanceCommitted?.();
      this.rebalanceCommitted = undefined;
    }
    const assignment = this.pendingAssignment;
    if (!assignment) {
      await this.waitForWork();
      return;
    }
    this.pendingAssignment = undefined;
    const previous = this.generation;
    const continuous = previous !== undefined && previous.memberId === assignment.generation.memberId && assignment.generation.generationId === previous.generationId + 1 && this.committedForRebalance && this.needsRecovery === undefined;
    if (previous !== undefined && !continuous && this.options.taskManager.tasks.size > 0) {
      this.options.logger.warn({ previousGeneration: previous.generationId, generation: assignment.generation.generationId }, 'tasks may have run elsewhere since the last commit; restarting them from the committed state');
      await this.options.collector.abort();
      await this.options.taskManager.closeAll(false);
    }
    this.needsRecovery = undefined;
    this.rebalanceStarted = false;
    this.committedForRebalance = false;
    this.generation = assignment.generation;
    this.assignment = assignment;
    this.options.metrics.rebalances += 1;
    await this.options.taskManager.handleAssignment(this.tasksOf(assignment));
    this.options.logger.info({ application: this.options.applicationId, generation: assignment.generation.generationId, tasks: this.options.taskManager.assignedTasks }, 'tasks assigned');
    this.options.owners.set(assignment.owners);
    this.checkRunning();
  }

  private tasksOf(assignment: GroupAssignment): Array<{ subtopology: Subtopology<string>; partition: number }> {
    const tasks: Array<{ subtopology: Subtopology<string>; partition: number }> = [];
    for (const subtopology of this.options.topology.subtopologies) {
      for (const partition of assignment.partitions.get(subtopology.sources[0]!) ?? []) {
        if (subtopology.sources.every((topic) => assignment.partitions.get(topic)?.includes(partition))) tasks.push({ subtopology, partition });
      }
    }
    return tasks;
  }

  /** Running again once the rebalance is over: an assignment taken, every task running, the owners known. */
  checkRunning(): void {
    if (this.rebalanceStarted || this.pendingAssignment) return;
    if (this.generation && this.options.taskManager.allRunning && this.options.owners.isAvailable) this.options.onRunning();
  }

  private waitForWork(): Promise<void> {
    if (this.wokenMeanwhile) return Promise.resolve();
    const now = Date.now();
    let wakeAt = now + 1_000;
    const idleEnd = this.options.taskManager.wakeUpAt(this.options.maxTaskIdleMs);
    if (idleEnd !== undefined) wakeAt = Math.min(wakeAt, idleEnd);
    if (this.options.collector.hasOpenTransaction || this.options.collector.pending > 0 || this.options.taskManager.hasUncommittedWork) wakeAt = Math.min(wakeAt, this.lastCommit + this.options.commitIntervalMs);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wake(), Math.max(1, wakeAt - now));
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
