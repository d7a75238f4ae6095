import { RecordingPartitioner } from '@ecosystem/streams';
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type KafkaConfig,
  type LogEntry,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import type { Logger } from './logger.ts';

export interface KafkaClientOptions {
  clientId: string;
  brokers: string[];
  logger: Logger;
  /** Extra kafkajs settings for the rare client that needs them (tests, admin tools). */
  overrides?: Partial<KafkaConfig>;
}

/**
 * The one Kafka client factory. Every producer in the project gets the Java-compatible
 * murmur2 partitioner (kafkajs' DefaultPartitioner), so Java clients, Kafka Connect and
 * this project agree on which partition owns a key.
 */
export function createKafka({ clientId, brokers, logger, overrides }: KafkaClientOptions): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 100, retries: 10 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafkaEntry(kafkaLogger, entry),
    ...overrides,
  });
}

/**
 * kafkajs warns at every start of an idempotent producer that its retries are limited. They
 * are limited on purpose (a request must fail rather than hang while the broker is away),
 * so the warning is demoted to debug instead of alarming every log reader.
 */
const expectedWarnings = [
  /^Limiting retries for the idempotent producer/,
  // A transaction begun right after the previous commit meets CONCURRENT_TRANSACTIONS until
  // the coordinator has finished that commit; kafkajs retries it, and a real failure still
  // surfaces as a failed commit.
  /concurrent operation on the same transaction/,
];

function logKafkaEntry(logger: Logger, { level, log }: LogEntry): void {
  const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
  const text = `${message} ${typeof fields.error === 'string' ? fields.error : ''}`;
  if (expectedWarnings.some((pattern) => pattern.test(text))) {
    logger.debug(fields, message);
    return;
  }
  switch (level) {
    case KafkaLogLevel.ERROR:
      logger.error(fields, message);
      break;
    case KafkaLogLevel.WARN:
      logger.warn(fields, message);
      break;
    case KafkaLogLevel.INFO:
      logger.info(fields, message);
      break;
    default:
      logger.debug(fields, message);
  }
}

/**
 * Producers always name the partitioner: the Java-compatible one (kafkajs 2's default; saying
 * so silences its migration warning), remembering its choices so `sendBatchAcknowledged` can
 * tell a send that kafkajs completed only in part after a broker failure.
 */
export function createProducer(kafka: Kafka, config: ProducerConfig = {}): Producer {
  return kafka.producer({ createPartitioner: RecordingPartitioner, ...config });
}
