import { Topics, type Order, type OrderValidation, type TopicSerdes } from '@ecosystem/avro';
import { ContextualProcessor, jsonSerde, Stores, StreamsBuilder, stringSerde, type KeyValueStore, type ProcessorContext, type StreamRecord, type Topology } from 'kstreams';
import type { AggregatorSettings } from './config.ts';
import { decide, noChecks, recordOrder, recordResult, timeoutReason, type FinalState, type OrderChecks } from './rules.ts';

export const checksStore = 'order-checks';

/** Order ids with the time each was written down, oldest first: every order's time comes later than the one before it. */
class Deadlines {
  private entries: Array<{ at: number; orderId: string }> = [];
  private head = 0;

  push(at: number, orderId: string): void {
    this.entries.push({ at, orderId });
  }

  /** Takes the entries whose time is at or before `time`. */
  *due(time: number): Generator<string> {
    while (this.head < this.entries.length && this.entries[this.head]!.at <= time) yield this.entries[this.head++]!.orderId;
    if (this.head > 1_024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

/** What a task must look at again, and when: undecided orders at their time limit, decided ones at the end of their retention. */
interface TaskDeadlines {
  timeouts: Deadlines;
  retentions: Deadlines;
}

/**
 * Folds one kind of event (the created order, or a check result) into the order's checks
 * and writes the final state when it becomes decidable. Orders and results are both keyed
 * by order id and co-partitioned, so one task sees everything about an order.
 */
class ChecksFolder<V> extends ContextualProcessor<string, V, string, Order> {
  protected checks!: KeyValueStore<string, OrderChecks>;

  constructor(
    private readonly fold: (checks: OrderChecks, value: V) => OrderChecks,
    protected readonly settings: AggregatorSettings,
    /** The deadlines of each task, shared by its two folders. */
    protected readonly deadlinesByTask: Map<string, TaskDeadlines>,
  ) {
    super();
  }

  protected get deadlines(): TaskDeadlines {
    let deadlines = this.deadlinesByTask.get(this.context.taskId);
    if (!deadlines) {
      deadlines = { timeouts: new Deadlines(), retentions: new Deadlines() };
      this.deadlinesByTask.set(this.context.taskId, deadlines);
    }
    return deadlines;
  }

  override init(context: ProcessorContext<string, Order>): void {
    super.init(context);
    this.checks = context.getStateStore(checksStore);
  }

  async process({ key, value, timestamp, headers }: StreamRecord<string, V>): Promise<void> {
    const stored = await this.checks.get(key);
    const before = stored ?? noChecks;
    const folded = this.fold(before, value);
    if (folded === before) return;
    const after = stored ? folded : { ...folded, since: this.context.currentSystemTimeMs() };
    if (!stored) this.deadlines.timeouts.push(after.since! + this.settings.checkTimeoutMs, key);
    const decision = decide(after);
    if (!decision) {
      this.checks.put(key, after);
      return;
    }
    await this.finish(key, after, decision, { timestamp, headers });
  }

  /** Writes the final state; once decided, only the decision is kept (late or duplicate results are ignored) until its retention ends. */
  protected async finish(key: string, checks: OrderChecks, decision: FinalState, record: Pick<StreamRecord<string, unknown>, 'timestamp' | 'headers'>): Promise<void> {
    const decidedAt = this.context.currentSystemTimeMs();
    this.checks.put(key, { results: {}, decided: decision, decidedAt });
    this.deadlines.retentions.push(decidedAt + this.settings.decisionRetentionMs, key);
    await this.context.forward({ key, value: { ...checks.order!, state: decision }, ...record });
  }
}

/**
 * The folder of created orders also keeps the store bounded: an undecided order that reaches
 * its time limit ends FAILED (`reason` header: the checks it never got), and a decided order is
 * forgotten once its retention ends. Only once the task has read its input to the end: after a
 * restart, results waiting in its backlog count, not the time the aggregator was down. The
 * deadlines live in memory, read back from the store when the task starts.
 */
class OrdersFolder extends ChecksFolder<Order> {
  override async init(context: ProcessorContext<string, Order>): Promise<void> {
    super.init(context);
    // The task (re)starts from its committed store: its deadlines are read back from it.
    this.deadlinesByTask.delete(context.taskId);
    const { timeouts, retentions } = this.deadlines;
    const entries: Array<[string, OrderChecks]> = [];
    for await (const entry of this.checks.all()) entries.push(entry);
    const at = ([, checks]: [string, OrderChecks]) => (checks.decided ? (checks.decidedAt ?? 0) + this.settings.decisionRetentionMs : (checks.since ?? 0) + this.settings.checkTimeoutMs);
    for (const entry of entries.sort((left, right) => at(left) - at(right))) (entry[1].decided ? retentions : timeouts).push(at(entry), entry[0]);
    context.schedule(this.settings.sweepIntervalMs ?? 1_000, 'wall-clock', (now) => this.sweep(now));
  }

  close(): void {
    this.deadlinesByTask.delete(this.context.taskId);
  }

  private async sweep(now: number): Promise<void> {
    if (!this.context.inputsCaughtUp) return;
    for (const orderId of this.deadlines.retentions.due(now)) {
      const checks = await this.checks.get(orderId);
      if (checks?.decided && (checks.decidedAt ?? 0) + this.settings.decisionRetentionMs <= now) this.checks.delete(orderId);
    }
    for (const orderId of this.deadlines.timeouts.due(now)) {
      const checks = await this.checks.get(orderId);
      if (!checks || checks.decided) continue;
      // Results of an order the aggregator never saw created cannot decide anything: forget them.
      if (!checks.order) this.checks.delete(orderId);
      else await this.finish(orderId, checks, 'FAILED', { timestamp: now, headers: { reason: timeoutReason(checks, this.settings.checkTimeoutMs) } });
    }
  }
}

export function aggregatorTopology(serdes: TopicSerdes, settings: AggregatorSettings): Topology {
  const builder = new StreamsBuilder();
  builder.addStateStore(Stores.keyValue(checksStore, stringSerde, jsonSerde<OrderChecks>()));
  const orderSerdes = serdes[Topics.orders];
  const deadlinesByTask = new Map<string, TaskDeadlines>();
  builder
    .stream(orderSerdes.topic, orderSerdes)
    .filter((_id, order: Order | null) => order?.state === 'CREATED')
    .process(() => new OrdersFolder(recordOrder, settings, deadlinesByTask), { name: 'fold-orders', stores: [checksStore] })
    .to(orderSerdes.topic, orderSerdes);
  builder
    .stream(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations])
    .filter((_id, validation: OrderValidation | null) => validation !== null && validation !== undefined)
    .process(() => new ChecksFolder<OrderValidation>(recordResult, settings, deadlinesByTask), { name: 'fold-results', stores: [checksStore] })
    .to(orderSerdes.topic, orderSerdes);
  return builder.build();
}
