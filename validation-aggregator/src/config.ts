import { env } from '@ecosystem/platform';

export const aggregatorConfig = {
  /**
   * An order still missing a check this long after the aggregator first heard of it (while the
   * aggregator has read all its input) ends FAILED, with the missing checks in its `reason`
   * header (default 60 s).
   */
  CHECK_TIMEOUT_MS: env.milliseconds(60_000),
  /** How long a decided order is remembered, so that late or repeated results of it change nothing (default 10 minutes). */
  DECISION_RETENTION_MS: env.milliseconds(10 * 60 * 1_000),
};

export interface AggregatorSettings {
  checkTimeoutMs: number;
  decisionRetentionMs: number;
  /** How often time limits and retention are checked (default 1 s). */
  sweepIntervalMs?: number;
}
