import { env, httpServerConfig, infrastructureConfig, streamsConfig } from '@ecosystem/platform';
import { z } from 'zod';

const unsetWhenEmpty = (value: unknown) => (value === '' ? undefined : value);

export const orderEnrichmentConfig = {
  ...infrastructureConfig,
  ...streamsConfig,
  PORT: env.port(8010),
  ...httpServerConfig,
  /** host:port the other instances use to reach this one (default 127.0.0.1:PORT). */
  ADVERTISED_ENDPOINT: env.endpoint(),
  /** How long GET /fraud waits for another instance's share of the fraud table. */
  FRAUD_PEER_TIMEOUT_MS: env.milliseconds(5_000),
  /** A ksqlDB server (e.g. http://ksqldb-server:8088): when set, ksqlDB computes the tables instead of this process. */
  KSQLDB_URL: z.preprocess(unsetWhenEmpty, z.string().url().optional()),
  KSQLDB_REQUEST_TIMEOUT_MS: env.milliseconds(30_000),
  /** How long startup keeps retrying while ksqlDB is unreachable or not ready. */
  KSQLDB_STARTUP_TIMEOUT_MS: env.milliseconds(120_000),
};
