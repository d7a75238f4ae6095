import { topicSerdes, type TopicSerdes } from '@ecosystem/avro';
import type { KafkaStreams, Topology } from 'kstreams';
import type { z } from 'zod';
import { env, httpServerConfig, infrastructureConfig } from './config.ts';
import { createHttpServer, Router } from './http.ts';
import { connectKafka, createSchemaRegistryClient } from './kafka.ts';
import { runService } from './lifecycle.ts';
import type { ApiDescription } from './openapi.ts';
import type { Logger } from './logger.ts';
import { createStreamsApp, streamsConfig } from './streams-app.ts';

const serviceConfig = {
  ...infrastructureConfig,
  ...streamsConfig,
  /** Health and readiness endpoints; 0 picks a free port. */
  PORT: env.port(0),
  ...httpServerConfig,
};

/** A streams service's whole configuration: the shared settings and its own. */
export type StreamsServiceSettings<Shape extends z.ZodRawShape> = z.infer<z.ZodObject<typeof serviceConfig>> & z.infer<z.ZodObject<Shape>>;

export interface StreamsServiceDefinition<Shape extends z.ZodRawShape> {
  service: string;
  defaultPort: number;
  /** The service's own settings, read and validated with the shared ones. */
  config: Shape;
  topology: (context: { serdes: TopicSerdes; config: z.infer<z.ZodObject<Shape>>; logger: Logger }) => Topology;
  /** HTTP routes beside /health and /ready, e.g. queries of the service's stores. */
  routes?: (streams: KafkaStreams, context: { config: StreamsServiceSettings<Shape>; logger: Logger; endpoint: string | undefined }) => Router;
  /**
   * The host:port this instance advertises in its group (Kafka Streams' `application.server`), so
   * that an instance can ask the others (`streams.endpoints()`); none by default.
   */
  endpoint?: (config: StreamsServiceSettings<Shape>) => string | undefined;
  /** The OpenAPI description of those routes (served at /openapi.json, with /health and /ready). */
  api?: Omit<ApiDescription, 'title'>;
  /** Closes the service's own resources (a mail transport...) after the streams app stopped. */
  onClose?: () => Promise<void>;
}

/**
 * The entry point of a stream-processing service: read and validate the configuration, build
 * the topology with the topic serdes, run it (exactly-once by default), serve /health and
 * /ready, stop cleanly on SIGTERM. Several instances share the work through the consumer group.
 */
export async function runStreamsService<Shape extends z.ZodRawShape>(definition: StreamsServiceDefinition<Shape>): Promise<void> {
  const shape = { ...serviceConfig, PORT: env.port(definition.defaultPort), ...definition.config };
  await runService(definition.service, shape, async (parsed, logger) => {
    // A spread with a generic part: TypeScript cannot infer it whole, so the two parts are named.
    const config = parsed as StreamsServiceSettings<Shape>;
    const kafka = await connectKafka({ clientId: definition.service, config, logger });
    const serdes = topicSerdes(createSchemaRegistryClient(config), { prefix: config.TOPIC_PREFIX });
    const topology = definition.topology({ serdes, config, logger });
    const endpoint = definition.endpoint?.(config);
    const app: KafkaStreams = createStreamsApp({ service: definition.service, topology, kafka, logger, config, ...(endpoint ? { endpoint } : {}) });
    const http = createHttpServer({
      logger,
      router: definition.routes?.(app, { config, logger, endpoint }) ?? new Router(),
      api: { title: definition.service, operations: [], ...definition.api },
      isReady: () => app.isReady,
      apiToken: config.API_TOKEN,
      describe: () => ({ service: definition.service, state: app.state, tasks: app.assignedTasks }),
    });
    const port = await http.listen(config.PORT, config.HOST);
    await app.start();
    logger.info({ port, applicationId: app.applicationId, guarantee: config.PROCESSING_GUARANTEE, topology: topology.describe() }, `${definition.service} started`);
    return async () => {
      await app.close();
      await http.close();
      await definition.onClose?.();
    };
  });
}
