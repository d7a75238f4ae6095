import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { KafkaClients, KafkaSecurityError, type KafkaClientsOptions, type KafkaSecurity } from 'kstreams';
import { readSetting, StartupError, type KafkaConfig } from './config.ts';
import type { Logger } from './logger.ts';

export interface KafkaClientOptions {
  clientId: string;
  /** The Kafka part of a loaded configuration (KAFKA_BROKERS and the KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_* settings). */
  config: KafkaConfig;
  logger: Logger;
  /** Timeouts and retries other than the factory's (a health probe takes no retries). */
  tuning?: Pick<KafkaClientsOptions, 'retries' | 'connectTimeoutMs' | 'requestTimeoutMs'>;
}

/**
 * The TLS and SASL settings of a loaded configuration, as the client factory takes them:
 * the one place where KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_* become client
 * options (certificate files are read here). Undefined for PLAINTEXT.
 */
export function kafkaSecurity(config: KafkaConfig): KafkaSecurity | undefined {
  const protocol = config.KAFKA_SECURITY_PROTOCOL;
  if (protocol === 'PLAINTEXT') return undefined;
  const security: KafkaSecurity = {};
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    // loadConfig has checked that all three are set for a SASL protocol.
    security.sasl = { mechanism: config.KAFKA_SASL_MECHANISM!, username: config.KAFKA_SASL_USERNAME!, password: config.KAFKA_SASL_PASSWORD! };
  }
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const tls: TlsOptions = { rejectUnauthorized: config.KAFKA_SSL_REJECT_UNAUTHORIZED };
    if (config.KAFKA_SSL_CA_LOCATION) tls.ca = readSetting(config.KAFKA_SSL_CA_LOCATION, 'KAFKA_SSL_CA_LOCATION');
    if (config.KAFKA_SSL_CERTIFICATE_LOCATION) tls.cert = readSetting(config.KAFKA_SSL_CERTIFICATE_LOCATION, 'KAFKA_SSL_CERTIFICATE_LOCATION');
    if (config.KAFKA_SSL_KEY_LOCATION) tls.key = readSetting(config.KAFKA_SSL_KEY_LOCATION, 'KAFKA_SSL_KEY_LOCATION');
    if (config.KAFKA_SSL_KEY_PASSWORD) tls.passphrase = config.KAFKA_SSL_KEY_PASSWORD;
    security.tls = tls;
  }
  return security;
}

/**
 * The one Kafka client factory of the project (`KafkaClients` of the streams runtime, on
 * @platformatic/kafka), configured from the loaded configuration: every producer gets the Java
 * client's murmur2 partitioner, so Java clients, Kafka Connect and this project agree on which
 * partition owns a key; every client the same brokers, TLS and SASL, retries and logging.
 */
export function createKafka({ clientId, config, logger, tuning }: KafkaClientOptions): KafkaClients {
  const security = kafkaSecurity(config);
  return new KafkaClients({ ...tuning, clientId, brokers: config.KAFKA_BROKERS, logger: logger.child({ component: 'kafka' }), ...(security ? { security } : {}) });
}

/**
 * `createKafka`, then one round trip to the brokers: credentials or TLS settings they refuse
 * stop the process at start with one line naming the settings to check (a `StartupError`),
 * instead of clients retrying a connection that can never succeed.
 */
export async function connectKafka(options: KafkaClientOptions): Promise<KafkaClients> {
  const { KAFKA_SECURITY_PROTOCOL: protocol, KAFKA_SSL_REJECT_UNAUTHORIZED: verify } = options.config;
  if (!verify && protocol.endsWith('SSL')) {
    // Said at every start, so that a setting meant for a quick test cannot stay on unnoticed.
    options.logger.warn({ KAFKA_SSL_REJECT_UNAUTHORIZED: false }, 'KAFKA_SSL_REJECT_UNAUTHORIZED=false: any broker certificate is accepted, so anyone on the network path can pose as Kafka and read the credentials and records; never use it in production');
  }
  const kafka = createKafka(options);
  try {
    await kafka.verify();
  } catch (error) {
    await kafka.close();
    if (error instanceof KafkaSecurityError) throw new StartupError(explainKafkaRefusal(error, options.config), { cause: error });
    throw error;
  }
  return kafka;
}

/**
 * The same settings as a Java client's properties (security.protocol, sasl.jaas.config,
 * ssl.truststore...), for Kafka's own Java tools run against the cluster (the benchmark's
 * ProducerPerformance and ConsumerPerformance, `--command-config`). Undefined for PLAINTEXT.
 */
export function javaClientProperties(config: KafkaConfig): string | undefined {
  const protocol = config.KAFKA_SECURITY_PROTOCOL;
  if (protocol === 'PLAINTEXT') return undefined;
  // A properties value: backslashes and line ends escaped (a PEM's lines become \n, which Java reads back as line ends).
  const value = (text: string) => text.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n');
  const jaasQuoted = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = [`security.protocol=${protocol}`];
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const module = config.KAFKA_SASL_MECHANISM === 'PLAIN' ? 'org.apache.kafka.common.security.plain.PlainLoginModule' : 'org.apache.kafka.common.security.scram.ScramLoginModule';
    lines.push(`sasl.mechanism=${config.KAFKA_SASL_MECHANISM ?? ''}`);
    lines.push(value(`sasl.jaas.config=${module} required username=${jaasQuoted(config.KAFKA_SASL_USERNAME ?? '')} password=${jaasQuoted(config.KAFKA_SASL_PASSWORD ?? '')};`));
  }
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    if (config.KAFKA_SSL_CA_LOCATION) lines.push('ssl.truststore.type=PEM', `ssl.truststore.location=${value(config.KAFKA_SSL_CA_LOCATION)}`);
    if (config.KAFKA_SSL_CERTIFICATE_LOCATION && config.KAFKA_SSL_KEY_LOCATION) {
      lines.push(
        'ssl.keystore.type=PEM',
        `ssl.keystore.certificate.chain=${value(readSetting(config.KAFKA_SSL_CERTIFICATE_LOCATION, 'KAFKA_SSL_CERTIFICATE_LOCATION').toString('utf8').trim())}`,
        `ssl.keystore.key=${value(readSetting(config.KAFKA_SSL_KEY_LOCATION, 'KAFKA_SSL_KEY_LOCATION').toString('utf8').trim())}`,
      );
      if (config.KAFKA_SSL_KEY_PASSWORD) lines.push(`ssl.key.password=${value(config.KAFKA_SSL_KEY_PASSWORD)}`);
    }
    // Java has no "accept any certificate" switch; the nearest is not checking the host name.
    if (!config.KAFKA_SSL_REJECT_UNAUTHORIZED) lines.push('ssl.endpoint.identification.algorithm=');
  }
  return `${lines.join('\n')}\n`;
}

/** What the brokers refused, in terms of the settings a user can change. */
export function explainKafkaRefusal(error: KafkaSecurityError, config: KafkaConfig): string {
  const brokers = `KAFKA_BROKERS=${config.KAFKA_BROKERS.join(',')}`;
  switch (error.failure) {
    case 'credentials':
      return (
        `Kafka rejected the SASL credentials of KAFKA_SASL_USERNAME=${config.KAFKA_SASL_USERNAME ?? ''} ` +
        `(KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM ?? ''}, broker ${error.broker}): check KAFKA_SASL_PASSWORD. The broker said: ${error.reason}`
      );
    case 'mechanism':
      return (
        `Kafka at ${error.broker} does not offer KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM ?? ''} with ` +
        `KAFKA_SECURITY_PROTOCOL=${config.KAFKA_SECURITY_PROTOCOL} (check both against the broker's listener, and ${brokers}): ${error.reason}`
      );
    case 'certificate':
      return config.KAFKA_SSL_CA_LOCATION
        ? `The TLS certificate of Kafka at ${error.broker} is not signed by the CA of KAFKA_SSL_CA_LOCATION=${config.KAFKA_SSL_CA_LOCATION}, or does not name that host: ${error.reason}`
        : `The TLS certificate of Kafka at ${error.broker} is not trusted: set KAFKA_SSL_CA_LOCATION to the PEM file of the CA that signed it (${error.reason})`;
    case 'tls-handshake':
      return `Kafka at ${error.broker} does not speak TLS there: check KAFKA_SECURITY_PROTOCOL=${config.KAFKA_SECURITY_PROTOCOL} and ${brokers} (${error.reason})`;
  }
}

export type { KafkaClients };

// The other clients of the infrastructure (schema registry, Elasticsearch), configured the same way.
export * from './http-clients.ts';
