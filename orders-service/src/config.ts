import { env, infrastructureConfig, streamsConfig } from '@ecosystem/platform';
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
  HOST: env.text('0.0.0.0'),
  /** host:port other instances use to forward requests here (default 127.0.0.1:PORT). */
  ADVERTISED_ENDPOINT: env.endpoint(),
  /** Long-poll timeout of GET requests without ?timeout=. */
  DEFAULT_TIMEOUT_MS: env.milliseconds(10_000),
  MAX_TIMEOUT_MS: env.milliseconds(60_000),
  MAX_BODY_BYTES: env.positiveInt(16 * 1024),
};
