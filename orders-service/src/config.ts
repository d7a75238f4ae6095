import { env, httpServerConfig, infrastructureConfig, streamsConfig } from '@ecosystem/platform';
import { z } from 'zod';

export const ordersServiceConfig = {
  ...infrastructureConfig,
  ...streamsConfig,
  /**
   * The orders view only reads orders.v1 into a table (puts are idempotent): at-least-once is
   * enough for it and spares a transaction per commit.
   */
  PROCESSING_GUARANTEE: z.enum(['exactly-once', 'at-least-once']).default('at-least-once'),
  PORT: env.port(8000),
  ...httpServerConfig,
  /** host:port other instances use to forward requests here (default 127.0.0.1:PORT). */
  ADVERTISED_ENDPOINT: env.endpoint(),
  /** Long-poll timeout of GET requests without ?timeout=. */
  DEFAULT_TIMEOUT_MS: env.milliseconds(10_000),
  MAX_TIMEOUT_MS: env.milliseconds(60_000),
  MAX_BODY_BYTES: env.positiveInt(16 * 1024),
  /**
   * POSTs this instance handles at once (also the bound of its producer's queue); one more is
   * answered 503 with Retry-After at once, before its body is read.
   */
  MAX_POSTS_IN_FLIGHT: env.positiveInt(256),
  /**
   * Orders this instance created whose final state it has not seen yet (those older than a
   * minute are no longer counted); beyond it a POST is answered 503 with Retry-After. It keeps
   * the pipeline's backlog, and so the time from POST to final state, bounded under overload.
   */
  MAX_PENDING_ORDERS: env.positiveInt(2_000),
  /** How long a POST may wait for Kafka's acknowledgement before it is answered 503 (not sent) or 504 (sent, outcome unknown). */
  POST_TIMEOUT_MS: env.positiveInt(5_000),
};
