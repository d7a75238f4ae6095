import { KafkaClients } from '@ecosystem/streams';
import type { Logger } from './logger.ts';

export interface KafkaClientOptions {
  clientId: string;
  brokers: readonly string[];
  logger: Logger;
}

/**
 * The one Kafka client factory of the project (`KafkaClients` of the streams runtime, on
 * @platformatic/kafka): every producer gets the Java client's murmur2 partitioner, so Java
 * clients, Kafka Connect and this project agree on which partition owns a key; every client
 * the same brokers, retries and logging.
 */
export function createKafka({ clientId, brokers, logger }: KafkaClientOptions): KafkaClients {
  return new KafkaClients({ clientId, brokers, logger: logger.child({ component: 'kafka' }) });
}

export type { KafkaClients };
