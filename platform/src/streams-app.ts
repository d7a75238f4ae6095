import path from 'node:path';
import { KafkaStreams, type KafkaClients, type Topology } from 'kstreams';
import { env, type InfrastructureConfig } from './config.ts';
import type { Logger } from './logger.ts';
import { exportStreamsMetrics, streamsMetricsObserver } from './metrics.ts';
import { z } from 'zod';

/** Configuration every stream-processing service reads (besides the infrastructure's). */
export const streamsConfig = {
  /** Instances with the same id share the work; a second copy of a service keeps it. */
  APPLICATION_ID: z.string().min(1).optional(),
  /** Where the service keeps its LevelDB state; each instance on one machine needs its own. */
  STATE_DIR: z.string().min(1).optional(),
  INSTANCE_ID: env.text('default'),
  PROCESSING_GUARANTEE: z.enum(['exactly-once', 'at-least-once']).default('exactly-once'),
  COMMIT_INTERVAL_MS: env.milliseconds(100),
  /** How long a task waits for an input partition known to have records (timestamp order across its inputs). */
  MAX_TASK_IDLE_MS: env.milliseconds(1_000),
  SESSION_TIMEOUT_MS: env.milliseconds(10_000),
  /** Whether a re-keying step orders records across its input partitions (posting order of one customer's orders); false: per partition, as Kafka Streams. */
  CROSS_PARTITION_ORDER: env.boolean(true),
  /** Records stamped further ahead of the clock go to the dead-letter topic (one would otherwise move stream time ahead for good). */
  MAX_FUTURE_TIMESTAMP_MS: env.milliseconds(60 * 60 * 1_000),
  /** Replication factor of the internal topics the service creates; unset, the broker's default.replication.factor. */
  REPLICATION_FACTOR: z.coerce.number().int().min(1).optional(),
};

/** What createStreamsApp reads of a service's parsed configuration: inferred from the shapes, never spelled twice. */
export type StreamsServiceConfig = z.infer<z.ZodObject<typeof streamsConfig>> & Partial<Pick<InfrastructureConfig, 'TOPIC_PREFIX'>>;

/** The streams application of a service, configured the same way in every service; its metrics join the process's (GET /metrics). */
export function createStreamsApp(options: {
  service: string;
  topology: Topology;
  kafka: KafkaClients;
  logger: Logger;
  config: StreamsServiceConfig;
  endpoint?: string;
}): KafkaStreams {
  const { service, config } = options;
  // A topic prefix namespaces a whole copy of the system: its consumer groups and state too.
  const prefix = config.TOPIC_PREFIX ?? '';
  const applicationId = config.APPLICATION_ID ?? `${prefix}${service}`;
  const app = new KafkaStreams({
    applicationId,
    topology: options.topology,
    clients: options.kafka,
    logger: options.logger.child({ component: 'streams' }),
    stateDirectory: config.STATE_DIR ?? path.resolve('.local', 'state', `${prefix}${service}-${config.INSTANCE_ID}`),
    guarantee: config.PROCESSING_GUARANTEE,
    commitIntervalMs: config.COMMIT_INTERVAL_MS,
    maxTaskIdleMs: config.MAX_TASK_IDLE_MS,
    sessionTimeoutMs: config.SESSION_TIMEOUT_MS,
    maxFutureTimestampMs: config.MAX_FUTURE_TIMESTAMP_MS,
    crossPartitionOrder: config.CROSS_PARTITION_ORDER,
    // Every topic of the system is keyed: a record without a key is a producer's bug, not an order.
    rejectNullKeys: true,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(config.REPLICATION_FACTOR !== undefined ? { replicationFactor: config.REPLICATION_FACTOR } : {}),
    metrics: streamsMetricsObserver(applicationId),
  });
  exportStreamsMetrics(app);
  return app;
}
