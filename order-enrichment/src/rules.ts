import type { Customer, Order, OrderEnriched } from '@ecosystem/avro';
import type { FraudRow } from '@ecosystem/platform/contracts';
import { z } from 'zod';

/**
 * The business rules of the enriched view and the fraud table, shared by both engines: the
 * local streams topology applies them record by record, the ksqlDB engine checks and shapes
 * ksqlDB's rows with them, and `sql/*.sql` spell the same numbers (a unit test keeps the two
 * in step). So for the same input both engines give the same answer.
 */

/** Fraud windows are tumbling, 30 s long, aligned to the epoch: [start, start + 30 000). */
export const fraudWindowSizeMs = 30_000;
/**
 * How late (in event time) an order may arrive and still count in its window. Set explicitly in
 * both engines, because their defaults differ (the runtime's grace is 0, ksqlDB's 24 hours).
 */
export const fraudWindowGraceMs = 60 * 60 * 1000;
/** How long a window stays queryable on GET /fraud (the runtime keeps windows at least one day). */
export const fraudWindowRetentionMs = 24 * 60 * 60 * 1000;
/** More than this many orders of one customer in one window is fraud. */
export const fraudThreshold = 2;
/**
 * The level an order gets when its customer is not (yet) on the `customers` topic. Not the
 * Customer schema's default "bronze": that default fills a field an older writer lacked, and
 * inventing a level for a customer nobody knows would route the order as if it were real.
 * "unknown" is not a level topic, so consumers can tell the case apart.
 */
export const unknownCustomerLevel = 'unknown';

/**
 * An order counts (and is enriched) once, by its CREATED record. The validation aggregator
 * later writes the same order again to orders.v1 as VALIDATED or FAILED; counting those
 * records too would count every order two times.
 */
export function isCountedOrder(order: Order | null | undefined): order is Order {
  return order?.state === 'CREATED';
}

/** An order with what the fraud table and the enriched view need of its customer. */
export interface EnrichedOrder {
  orderId: string;
  customerId: number;
  firstName: string | null;
  lastName: string | null;
  customerLevel: string;
}

/** Left join: an order whose customer is unknown keeps its customer id, without names, at the unknown level. */
export function enrichOrder(order: Order, customer: Customer | null | undefined): EnrichedOrder {
  return {
    orderId: order.id,
    customerId: order.customerId,
    firstName: customer?.firstName ?? null,
    lastName: customer?.lastName ?? null,
    customerLevel: customer?.level ?? unknownCustomerLevel,
  };
}

/** The record written to orders-enriched.v1 (keyed by the order id). */
export function orderEnriched(order: EnrichedOrder): OrderEnriched {
  return { id: order.orderId, customerId: order.customerId, customerLevel: order.customerLevel };
}

export interface FraudWindow {
  /** Inclusive. */
  start: number;
  /** Exclusive: an order at exactly `end` belongs to the next window. */
  end: number;
}

export function fraudWindowOf(timestamp: number): FraudWindow {
  const start = timestamp - (((timestamp % fraudWindowSizeMs) + fraudWindowSizeMs) % fraudWindowSizeMs);
  return { start, end: start + fraudWindowSizeMs };
}

/** One customer's orders in one window, with the customer's names as the orders carried them. */
export interface FraudCount {
  counts: number;
  firstName: string | null;
  lastName: string | null;
}

export function noOrders(): FraudCount {
  return { counts: 0, firstName: null, lastName: null };
}

/**
 * Adds an order to its window. Names are the latest non-null ones among the window's orders,
 * which is what ksqlDB's LATEST_BY_OFFSET gives: a pull query cannot join, so the names must
 * travel with the orders for both engines to answer alike.
 */
export function countOrder(count: FraudCount, order: EnrichedOrder): FraudCount {
  return { counts: count.counts + 1, firstName: order.firstName ?? count.firstName, lastName: order.lastName ?? count.lastName };
}

export function isFraud(counts: number): boolean {
  return counts > fraudThreshold;
}

/** A row of GET /fraud: the contract with its readers (the dashboard) lives in the platform. */
export type { FraudRow };

/** The row of a customer's window, or undefined when the window is not fraud. */
export function fraudRow(customerId: number, window: FraudWindow, count: FraudCount): FraudRow | undefined {
  if (!isFraud(count.counts)) return undefined;
  return { customerId, firstName: count.firstName, lastName: count.lastName, counts: count.counts, windowStart: window.start, windowEnd: window.end };
}

/** Newest windows first; within a window by customer id, so that every engine and instance orders alike. */
export function newestFirst(rows: readonly FraudRow[], limit: number): FraudRow[] {
  return [...rows].sort((left, right) => right.windowStart - left.windowStart || left.customerId - right.customerId).slice(0, limit);
}

export const defaultFraudLimit = 100;
export const maxFraudLimit = 1_000;

/** `?limit=` of GET /fraud: how many rows at most (described so in the OpenAPI document). */
export const fraudLimitParameter = z.int().min(1).max(maxFraudLimit);

export type FraudLimit = { ok: true; limit: number } | { ok: false; problem: string };

/** The `limit` query parameter: absent means the default; otherwise a whole number from 1 to the maximum. */
export function parseFraudLimit(raw: unknown): FraudLimit {
  if (raw === undefined) return { ok: true, limit: defaultFraudLimit };
  const problem = `a whole number from 1 to ${maxFraudLimit}`;
  if (typeof raw !== 'string' || !/^\d{1,7}$/.test(raw)) return { ok: false, problem: `${problem}, got ${JSON.stringify(raw)}` };
  const limit = fraudLimitParameter.safeParse(Number(raw));
  if (!limit.success) return { ok: false, problem: `${problem}, got ${Number(raw)}` };
  return { ok: true, limit: limit.data };
}
