import type { FraudRow } from './rules.ts';

/**
 * What computes the enriched view and the fraud table: the streams runtime in this process
 * (local) or a ksqlDB server. GET /fraud asks the engine; the engine answers for the whole
 * application (every instance, or the ksqlDB cluster), never for a part of it silently.
 */
export interface FraudEngine {
  readonly kind: 'local' | 'ksqldb';
  /** Starts computing; resolves once the engine is running (the local one may still be rebalancing). */
  start(): Promise<void>;
  /** Can answer GET /fraud now. */
  readonly isReady: boolean;
  /** Fraud windows of every customer, newest first, at most `limit`. Throws HttpError 5xx when it cannot answer in full. */
  fraud(limit: number): Promise<FraudRow[]>;
  /** Only this instance's share of the fraud table (the local engine's fan-out target). */
  instanceFraud?(limit: number): Promise<FraudRow[]>;
  /** Fields for /health and /ready. */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}
