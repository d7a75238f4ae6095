import { env } from '@ecosystem/platform';

export const fraudConfig = {
  /** A session of a customer's orders ends after this long without an order (default 1 hour). */
  FRAUD_SESSION_GAP_MS: env.milliseconds(60 * 60 * 1000),
  /** How late (event time) an order may arrive and still join its session (default 1 day). */
  FRAUD_GRACE_MS: env.milliseconds(24 * 60 * 60 * 1000),
  /** Total order value per session at which orders fail the check (default 2000). */
  FRAUD_THRESHOLD: env.positiveInt(2000),
  /** host:port the other instances use to ask this one for its sessions (default 127.0.0.1:PORT). */
  ADVERTISED_ENDPOINT: env.endpoint(),
};

export interface FraudSettings {
  sessionGapMs: number;
  graceMs: number;
  threshold: number;
}
