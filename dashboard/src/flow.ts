import type { Order, OrderValidation } from '@ecosystem/avro';
import type { FlowSummary, OrderView, SecondCounts } from './snapshot.ts';

/**
 * The rolling aggregates of the order flow. The rules are pure functions (tested on their
 * own); `OrderFlow` only keeps their results in bounded memory: the last `windowSeconds`
 * seconds of counts and latencies, and the last `capacity` orders.
 */

const finalStates: ReadonlySet<string> = new Set(['VALIDATED', 'FAILED']);

export function isFinal(state: string): boolean {
  return finalStates.has(state);
}

/** The start of the second a timestamp falls in. */
export function secondOf(timestamp: number): number {
  return Math.floor(timestamp / 1_000) * 1_000;
}

/**
 * An order record applied to what was known of the order (records of either topic may come
 * first). The CREATED record's timestamp is when the orders service accepted the POST. The
 * final record cannot tell when it was decided: the streams runtime gives an output record its
 * input's timestamp (as Kafka Streams does), so it still carries the CREATED time. The final
 * time is therefore when the dashboard received it, `receivedAt`.
 */
export function withOrderRecord(previous: OrderView | undefined, order: Order, recordTimestamp: number, receivedAt: number): OrderView {
  const view: OrderView = {
    ...(previous ?? { id: order.id, state: 'SEEN', checks: {} }),
    customerId: order.customerId,
    product: order.product,
    quantity: order.quantity,
    price: order.price,
  };
  if (order.state === 'CREATED') {
    view.createdAt = recordTimestamp;
    // A final state is never taken back by a late or replayed CREATED record.
    if (!view.finalAt) view.state = 'CREATED';
  } else {
    view.state = order.state;
  }
  if (isFinal(order.state) && view.finalAt === undefined) view.finalAt = receivedAt;
  if (view.createdAt !== undefined && view.finalAt !== undefined) view.latencyMs = Math.max(0, view.finalAt - view.createdAt);
  return view;
}

export function withValidation(previous: OrderView | undefined, validation: OrderValidation): OrderView {
  const view = previous ?? { id: validation.orderId, state: 'SEEN', checks: {} };
  return { ...view, checks: { ...view.checks, [validation.checkType]: validation.validationResult } };
}

/** The value below which `fraction` of the sorted values lie (nearest rank), or null for none. */
export function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil(fraction * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export interface SecondBucket {
  created: number;
  validated: number;
  failed: number;
  latenciesMs: number[];
}

export function emptyBucket(): SecondBucket {
  return { created: 0, validated: 0, failed: 0, latenciesMs: [] };
}

/**
 * One entry per second of the window ending at `now` (the current, unfinished second last),
 * zeros for seconds without orders, so a chart's x axis is time and not "seconds with data".
 */
export function secondsOfWindow(buckets: ReadonlyMap<number, SecondBucket>, now: number, windowSeconds: number): SecondCounts[] {
  const last = secondOf(now);
  return Array.from({ length: windowSeconds }, (_, index) => {
    const at = last - (windowSeconds - 1 - index) * 1_000;
    const bucket = buckets.get(at) ?? emptyBucket();
    const sorted = [...bucket.latenciesMs].sort((left, right) => left - right);
    return { at, created: bucket.created, validated: bucket.validated, failed: bucket.failed, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  });
}

export interface OrderFlowOptions {
  windowSeconds?: number;
  /** Orders remembered by id (for the table and for orders placed through the page). */
  capacity?: number;
  recentCount?: number;
  /** Orders placed through the page that stay on it. */
  placedCount?: number;
}

export class OrderFlow {
  readonly windowSeconds: number;
  private readonly capacity: number;
  private readonly recentCount: number;
  private readonly placedCount: number;
  private readonly totals = { created: 0, validated: 0, failed: 0 };
  private readonly buckets = new Map<number, SecondBucket>();
  /** In the order first seen, so the newest are last. */
  private readonly orders = new Map<string, OrderView>();
  private placedIds: string[] = [];

  constructor(options: OrderFlowOptions = {}) {
    this.windowSeconds = options.windowSeconds ?? 60;
    this.capacity = options.capacity ?? 1_000;
    this.recentCount = options.recentCount ?? 15;
    this.placedCount = options.placedCount ?? 5;
  }

  /** Applies a record of orders.v1 with its timestamp, received at `now` (which gives its second in the charts). */
  addOrder(order: Order, recordTimestamp: number, now = Date.now()): OrderView {
    const previous = this.orders.get(order.id);
    const view = withOrderRecord(previous, order, recordTimestamp, now);
    const bucket = this.bucketAt(now);
    if (order.state === 'CREATED' && previous?.createdAt === undefined) {
      this.totals.created += 1;
      bucket.created += 1;
    }
    // Counted once, when the order reaches its final state.
    if (view.finalAt !== undefined && previous?.finalAt === undefined) {
      const key = view.state === 'VALIDATED' ? 'validated' : 'failed';
      this.totals[key] += 1;
      bucket[key] += 1;
      if (view.latencyMs !== undefined) bucket.latenciesMs.push(view.latencyMs);
    }
    this.remember(view);
    return view;
  }

  /** Applies a record of order-validations.v1. */
  addValidation(validation: OrderValidation): OrderView {
    const view = withValidation(this.orders.get(validation.orderId), validation);
    this.remember(view);
    return view;
  }

  /** An order placed through the page: shown in its own panel until newer ones push it out. */
  track(id: string): void {
    this.placedIds = [id, ...this.placedIds.filter((placed) => placed !== id)].slice(0, this.placedCount);
  }

  summary(now = Date.now()): FlowSummary {
    this.forgetBefore(now);
    const perSecond = secondsOfWindow(this.buckets, now, this.windowSeconds);
    const latencies = [...this.buckets.values()].flatMap((bucket) => bucket.latenciesMs).sort((left, right) => left - right);
    return {
      totals: { ...this.totals },
      perSecond,
      latency: { count: latencies.length, p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95), p99Ms: percentile(latencies, 0.99) },
      ...this.orderLists(),
    };
  }

  /** Only the newest orders and those placed through the page: what changes with every record. */
  orderLists(): Pick<FlowSummary, 'recent' | 'placed'> {
    return {
      recent: [...this.orders.values()].slice(-this.recentCount).reverse(),
      placed: this.placedIds.map((id) => this.orders.get(id) ?? { id, state: 'POSTED', checks: {} }),
    };
  }

  private bucketAt(now: number): SecondBucket {
    const second = secondOf(now);
    let bucket = this.buckets.get(second);
    if (!bucket) this.buckets.set(second, (bucket = emptyBucket()));
    return bucket;
  }

  private forgetBefore(now: number): void {
    const oldest = secondOf(now) - (this.windowSeconds - 1) * 1_000;
    for (const second of this.buckets.keys()) if (second < oldest) this.buckets.delete(second);
  }

  private remember(view: OrderView): void {
    // Updates keep the order's place: the table lists orders by when they first appeared.
    this.orders.set(view.id, view);
    if (this.orders.size <= this.capacity) return;
    for (const id of this.orders.keys()) {
      if (this.placedIds.includes(id)) continue;
      this.orders.delete(id);
      break;
    }
  }
}
