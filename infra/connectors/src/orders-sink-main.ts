import { connectKafka, createHttpServer, createSchemaRegistryClient, env, httpServerConfig, infrastructureConfig, Router, runService } from '@ecosystem/platform';
import { createElasticsearchClient } from './elasticsearch.ts';
import { startOrdersSink, type OrdersSink } from './orders-sink.ts';

const service = 'orders-sink';

const config = {
  ...infrastructureConfig,
  /** /health and /ready; 0 picks a free port. */
  PORT: env.port(8107),
  ...httpServerConfig,
  BULK_SIZE: env.positiveInt(500),
  /** The longest wait between retries while Elasticsearch is away. */
  RETRY_MAX_BACKOFF_MS: env.positiveInt(30_000),
};

await runService(service, config, async (settings, logger) => {
  const elasticsearch = createElasticsearchClient(settings);
  const running: { sink?: OrdersSink } = {};
  // Health answers at once; readiness waits for the index and the consumer group.
  const http = createHttpServer({
    logger,
    router: new Router(),
    isReady: () => running.sink?.isReady ?? false,
    describe: () => ({ service, documentsWritten: running.sink?.documentsWritten ?? 0, deadLetters: running.sink?.deadLetters ?? 0 }),
    // No routes of its own: its /openapi.json describes the probes and /metrics, under its name.
    api: { title: service, operations: [] },
    apiToken: settings.API_TOKEN,
  });
  const port = await http.listen(settings.PORT, settings.HOST);
  const kafka = await connectKafka({ clientId: service, config: settings, logger });
  running.sink = await startOrdersSink({
    kafka,
    registry: createSchemaRegistryClient(settings),
    elasticsearch,
    logger,
    prefix: settings.TOPIC_PREFIX,
    bulkSize: settings.BULK_SIZE,
    retryBackoff: { maxMs: settings.RETRY_MAX_BACKOFF_MS },
  });
  logger.info({ port, elasticsearch: settings.ELASTICSEARCH_URL, prefix: settings.TOPIC_PREFIX }, `${service} started`);
  return async () => {
    await running.sink?.stop();
    await kafka.close();
    await http.close();
    await elasticsearch.close();
  };
});
