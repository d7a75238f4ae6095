/**
 * What the dashboard sends the page over server-sent events. Types only (type imports vanish
 * from the page's bundle): the page's code (web/) imports this file too, so both sides agree
 * on the shape.
 */
import type { FraudRow } from '@ecosystem/platform/contracts';


export const checkNames = ['INVENTORY_CHECK', 'FRAUD_CHECK', 'ORDER_DETAILS_CHECK'] as const;
export type CheckName = (typeof checkNames)[number];

/** One order as the dashboard saw it on orders.v1 and order-validations.v1. */
export interface OrderView {
  id: string;
  /** `SEEN` while only validations of the order have arrived (the topics are read independently). */
  state: string;
  customerId?: number;
  product?: string;
  quantity?: number;
  price?: number;
  /** Timestamp of the CREATED record (the orders service writes it when the POST is accepted). */
  createdAt?: number;
  /** When the dashboard received the VALIDATED or FAILED record (see withOrderRecord in flow.ts). */
  finalAt?: number;
  /** finalAt - createdAt: POST -> final state. */
  latencyMs?: number;
  checks: Partial<Record<CheckName, string>>;
}

/** One second of the flow, by when the dashboard received the records. */
export interface SecondCounts {
  /** Start of the second, epoch milliseconds. */
  at: number;
  created: number;
  validated: number;
  failed: number;
  /** POST -> final latency of the orders that reached their final state in this second. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface FlowSummary {
  /** Since the dashboard started reading (it starts at the end of the topics). */
  totals: { created: number; validated: number; failed: number };
  /** The last `windowSeconds` seconds, oldest first, one entry per second. */
  perSecond: SecondCounts[];
  /** Over the whole window. */
  latency: { count: number; p50Ms: number | null; p95Ms: number | null; p99Ms: number | null };
  /** The newest orders, newest first. */
  recent: OrderView[];
  /** Orders placed through the page's form, newest first. */
  placed: OrderView[];
}

export interface StockRow {
  product: string;
  stock: number;
  reserved: number;
}

/** A row of order-enrichment's GET /fraud: a customer with more than 2 orders in a 30-second window. */
export type FraudFlag = FraudRow;

export interface ServiceLag {
  service: string;
  groupId: string;
  /** Offsets between the group's committed position and the end of its input partitions; null when the group has committed nothing. */
  lag: number | null;
}

/** The latest answer of a polled source, or why there is none. */
export interface Polled<Rows> {
  rows: Rows;
  /** Set when the last poll failed (the rows are then the last good ones, or empty). */
  error?: string;
  /** When the rows were fetched, epoch milliseconds; 0 when never. */
  at: number;
}

export interface Snapshot {
  at: number;
  /** What the form offers (the Avro enum of products). */
  products: readonly string[];
  flow: FlowSummary;
  stock: Polled<StockRow[]>;
  fraud: Polled<FraudFlag[]>;
  lag: Polled<ServiceLag[]>;
}
