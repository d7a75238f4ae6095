import { recordSchema, registerSchema, Topics, topicSerdes, valueSubject } from '@ecosystem/avro';
import { connectKafka, createHttpServer, createSchemaRegistryClient, createStreamsApp, runService } from '@ecosystem/platform';
import { orderEnrichmentConfig } from './config.ts';
import type { FraudEngine } from './engine.ts';
import { KsqlDbClient } from './ksqldb-client.ts';
import { KsqlDbFraudEngine } from './ksqldb-engine.ts';
import { LocalFraudEngine } from './local-engine.ts';
import { enrichmentApi } from './openapi.ts';
import { fraudRoutes } from './routes.ts';
import { ksqlVariables, loadStatements } from './sql.ts';
import { enrichmentTopics, enrichmentTopology } from './topology.ts';

const service = 'order-enrichment';

await runService(service, orderEnrichmentConfig, async (config, logger) => {
  const registry = createSchemaRegistryClient(config);
  const serdes = topicSerdes(registry, { prefix: config.TOPIC_PREFIX });

  let engine: FraudEngine | undefined;
  const http = createHttpServer({
    logger,
    router: fraudRoutes(() => engine),
    isReady: () => engine?.isReady ?? false,
    describe: () => ({ service, ...engine?.describe() }),
    api: enrichmentApi,
    apiToken: config.API_TOKEN,
  });
  // Listen first: the advertised endpoint needs the real port when PORT is 0.
  const port = await http.listen(config.PORT, config.HOST);
  const endpoint = config.ADVERTISED_ENDPOINT ?? `127.0.0.1:${port}`;

  if (config.KSQLDB_URL) {
    // ksqlDB writes orders-enriched.v1 with the project's OrderEnriched schema: look up (or register) its id.
    const schemaId = await registerSchema(registry, valueSubject(serdes[Topics.ordersEnriched].topic), recordSchema('OrderEnriched').json);
    engine = new KsqlDbFraudEngine({
      client: new KsqlDbClient({ url: config.KSQLDB_URL, timeoutMs: config.KSQLDB_REQUEST_TIMEOUT_MS }),
      statements: loadStatements(ksqlVariables(config.TOPIC_PREFIX, schemaId)),
      logger,
      startupTimeoutMs: config.KSQLDB_STARTUP_TIMEOUT_MS,
    });
  } else {
    const topology = enrichmentTopology(enrichmentTopics(serdes), {
      onLateOrder: (record, streamTime) => logger.warn({ timestamp: record.timestamp, streamTime }, 'order arrived after its fraud window closed; not counted'),
    });
    const kafka = await connectKafka({ clientId: service, config, logger });
    const streams = createStreamsApp({ service, topology, kafka, logger, config, endpoint });
    engine = new LocalFraudEngine({ streams, endpoint, peerTimeoutMs: config.FRAUD_PEER_TIMEOUT_MS });
  }
  await engine.start();
  logger.info({ port, endpoint, engine: engine.kind, ksqldb: config.KSQLDB_URL }, `${service} started`);
  return async () => {
    await http.close();
    await engine?.close();
  };
});
