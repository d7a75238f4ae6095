import path from 'node:path';
import { connectKafka, createHttpServer, createSchemaRegistryClient, env, httpServerConfig, infrastructureConfig, Router, runService } from '@ecosystem/platform';
import { z } from 'zod';
import { defaultCustomerCount, defaultCustomersDbPath, openCustomersDb, seedCustomerTable } from './customers-db.ts';
import { startCustomersSource, type CustomersSource } from './customers-source.ts';
import { customersSourceJob } from './jobs.ts';

const service = 'customers-source';

const config = {
  ...infrastructureConfig,
  /** /health and /ready; 0 picks a free port. */
  PORT: env.port(8106),
  ...httpServerConfig,
  CUSTOMERS_DB: env.text(defaultCustomersDbPath),
  /** Fill the table up to CUSTOMER_COUNT customers at start (the nine seed customers first). */
  SEED_CUSTOMERS: z.enum(['true', 'false']).default('true'),
  /** Customers a seeded table holds; the populator spreads its orders over as many. */
  CUSTOMER_COUNT: env.positiveInt(defaultCustomerCount),
  POLL_INTERVAL_MS: env.positiveInt(customersSourceJob.pollIntervalMs),
  BATCH_SIZE: env.positiveInt(500),
};

await runService(service, config, async (settings, logger) => {
  const db = openCustomersDb(path.resolve(settings.CUSTOMERS_DB));
  if (settings.SEED_CUSTOMERS === 'true') {
    const seeded = seedCustomerTable(db, settings.CUSTOMER_COUNT);
    if (seeded > 0) logger.info({ customers: seeded, db: db.name }, 'seeded the customers table');
  }
  const running: { source?: CustomersSource } = {};
  // Health answers at once; readiness waits for the source to have resumed from its position.
  const http = createHttpServer({
    logger,
    router: new Router(),
    isReady: () => running.source?.isReady ?? false,
    describe: () => ({ service, db: db.name, position: running.source?.position ?? null, resumedFrom: running.source?.resumedFrom ?? null, rowsStreamed: running.source?.rowsStreamed ?? 0, deadLetters: running.source?.deadLetters ?? 0 }),
    // No routes of its own: its /openapi.json describes the probes and /metrics, under its name.
    api: { title: service, operations: [] },
    apiToken: settings.API_TOKEN,
  });
  const port = await http.listen(settings.PORT, settings.HOST);
  const kafka = await connectKafka({ clientId: service, config: settings, logger });
  running.source = await startCustomersSource({
    kafka,
    registry: createSchemaRegistryClient(settings),
    db,
    logger,
    prefix: settings.TOPIC_PREFIX,
    pollIntervalMs: settings.POLL_INTERVAL_MS,
    batchSize: settings.BATCH_SIZE,
    // Connect fails a fenced task; a process manager restarts this one if it is still wanted.
    onFenced: () => process.exit(1),
  });
  logger.info({ port, db: db.name, prefix: settings.TOPIC_PREFIX }, `${service} started`);
  return async () => {
    await running.source?.stop();
    await kafka.close();
    await http.close();
    db.close();
  };
});
