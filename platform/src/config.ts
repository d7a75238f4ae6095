import { accessSync, constants, readFileSync } from 'node:fs';
import { saslMechanisms } from 'kstreams';
import { z } from 'zod';
import { plainEndpoint } from './endpoints.ts';

/**
 * One way to read configuration: every service declares a zod schema over environment
 * variables and calls `loadConfig`. A bad or missing value stops the process at startup
 * with one line per variable at fault, rather than failing later on first use.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A failure at start that says all there is to say in one line (what was refused and which
 * setting to check): the process prints it and exits 1, without a stack.
 */
export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StartupError';
  }
}

export type Environment = Record<string, string | undefined>;

/** A certificate or key file named by a setting; one that went away since the configuration was checked is a one-line error naming the setting. */
export function readSetting(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new StartupError(`${variable}=${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Secrets are never echoed back in an error, only whether they are set. */
const secretVariable = /PASSWORD|SECRET|API_KEY|TOKEN/;

/**
 * A secret may come from a file instead (`NAME_FILE=/run/secrets/name`, as Docker and
 * Kubernetes mount secrets), so it need not sit in the environment of every process nor ever
 * on a command line. The file's content, without its final line break, is the value.
 */
function withSecretFiles(variables: string[], environment: Environment): { environment: Environment; problems: Problem[] } {
  const resolved: Environment = { ...environment };
  const problems: Problem[] = [];
  for (const variable of variables.filter((name) => secretVariable.test(name))) {
    const file = environment[`${variable}_FILE`];
    if (file === undefined) continue;
    if (environment[variable] !== undefined) {
      problems.push({ variable: `${variable}_FILE`, message: `set either ${variable} or ${variable}_FILE, not both` });
      continue;
    }
    try {
      resolved[variable] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push({ variable: `${variable}_FILE`, message: `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  return { environment: resolved, problems };
}

function describeValue(variable: string, value: string | undefined): string {
  if (value === undefined) return 'it is not set';
  return secretVariable.test(variable) ? 'it is set (value not shown)' : `got ${JSON.stringify(value)}`;
}

export function loadConfig<Shape extends z.ZodRawShape>(
  shape: Shape,
  environment: Environment = process.env,
): z.infer<z.ZodObject<Shape>> {
  const secrets = withSecretFiles(Object.keys(shape), environment);
  const result = z.object(shape).safeParse(secrets.environment);
  const problems = result.success
    ? crossChecks.filter((check) => check.variables.every((variable) => variable in shape)).flatMap((check) => check.problems(result.data as Record<string, unknown>))
    : result.error.issues.map((issue) => ({ variable: issue.path.join('.'), message: issue.message }));
  if (result.success && problems.length + secrets.problems.length === 0) return result.data;
  throw new ConfigError([...secrets.problems, ...problems].map(({ variable, message }) => `${variable}: ${message} (${describeValue(variable, secrets.environment[variable])})`));
}

const hostPort = /^[^\s:,]+:\d{1,5}$/;

/** Reusable field types, so every service spells a port or a broker list the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  milliseconds: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().min(1).default(fallback),
  url: (fallback: string) => z.string().url().default(fallback),
  /** The host:port one instance gives the others of its group (ADVERTISED_ENDPOINT), see plainEndpoint. */
  endpoint: () =>
    z
      .string()
      .refine((value) => plainEndpoint(value) !== undefined, 'expected host:port (a host name, an IPv4 address or a [bracketed] IPv6 address, and a port from 1 to 65535)')
      .optional(),
  text: (fallback: string) => z.string().min(1).default(fallback),
  brokerList: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .transform((value) => value.split(',').map((broker) => broker.trim()).filter(Boolean))
      .refine((brokers) => brokers.length > 0 && brokers.every((broker) => hostPort.test(broker)), {
        message: 'expected a comma-separated list of host:port',
      }),
  logLevel: () => z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** `true` or `false` (also 1/0, yes/no). */
  boolean: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
      .optional()
      .transform((value) => (value === undefined ? fallback : ['true', '1', 'yes'].includes(value))),
  /** A file this process can read (a certificate, a key). */
  readableFile: () =>
    z
      .string()
      .min(1)
      .refine(
        (file) => {
          try {
            accessSync(file, constants.R_OK);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'cannot read that file (missing, or no permission)' },
      )
      .optional(),
  /** A shared secret such as an API token: long enough not to be guessed; empty is unset (`${API_TOKEN:-}` in a compose file). */
  token: () => z.preprocess((value) => (value === '' ? undefined : value), z.string().min(16, 'at least 16 characters').optional()),
  /** One of `values`, in any letter case (Kafka's own settings are upper case). */
  upperCaseEnum: <const Values extends readonly [string, ...string[]]>(values: Values) =>
    z.preprocess((value) => (typeof value === 'string' ? value.trim().toUpperCase() : value), z.enum(values, { message: `expected one of ${values.join(', ')}` })),
};

export const kafkaSecurityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;

/**
 * How clients reach Kafka: the brokers, and TLS and SASL as Kafka's own client settings name
 * them (security.protocol, sasl.mechanism, ssl.ca.location...), so a managed cluster's
 * connection settings (Confluent Cloud's, MSK's) map one to one.
 */
export const kafkaConfig = {
  KAFKA_BROKERS: env.brokerList('127.0.0.1:9092'),
  KAFKA_SECURITY_PROTOCOL: env.upperCaseEnum(kafkaSecurityProtocols).default('PLAINTEXT'),
  KAFKA_SASL_MECHANISM: env.upperCaseEnum(saslMechanisms).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  /** PEM file of the CA that signed the brokers' certificates (default: the system's trusted CAs). */
  KAFKA_SSL_CA_LOCATION: env.readableFile(),
  /** A client certificate and its key (PEM), for brokers that ask for one (ssl.client.auth=required). */
  KAFKA_SSL_CERTIFICATE_LOCATION: env.readableFile(),
  KAFKA_SSL_KEY_LOCATION: env.readableFile(),
  KAFKA_SSL_KEY_PASSWORD: z.string().min(1).optional(),
  /** false accepts any broker certificate: for a quick test only, never in production. */
  KAFKA_SSL_REJECT_UNAUTHORIZED: env.boolean(true),
};

export type KafkaConfig = z.infer<z.ZodObject<typeof kafkaConfig>>;

/** The Confluent-compatible schema registry, with HTTP basic auth (Confluent Cloud: an API key and secret) and a private CA. */
export const schemaRegistryConfig = {
  SCHEMA_REGISTRY_URL: env.url('http://127.0.0.1:8081/apis/ccompat/v7'),
  SCHEMA_REGISTRY_USERNAME: z.string().min(1).optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().min(1).optional(),
  /** PEM file of the CA that signed an https registry's certificate (default: the system's trusted CAs). */
  SCHEMA_REGISTRY_CA_LOCATION: env.readableFile(),
};

export type SchemaRegistryConfig = z.infer<z.ZodObject<typeof schemaRegistryConfig>>;

/** Elasticsearch 8, with a user and password or an API key, and a private CA (its security auto-configuration makes one). */
export const elasticsearchConfig = {
  ELASTICSEARCH_URL: env.url('http://127.0.0.1:9200'),
  ELASTICSEARCH_USERNAME: z.string().min(1).optional(),
  ELASTICSEARCH_PASSWORD: z.string().min(1).optional(),
  /** The encoded API key (the `encoded` field Elasticsearch answers when it creates one). */
  ELASTICSEARCH_API_KEY: z.string().min(1).optional(),
  ELASTICSEARCH_CA_LOCATION: env.readableFile(),
};

export type ElasticsearchConfig = z.infer<z.ZodObject<typeof elasticsearchConfig>>;

interface Problem {
  variable: string;
  message: string;
}

/** Rules between variables, checked by loadConfig when a shape has all of `variables`. */
const crossChecks: Array<{ variables: string[]; problems: (config: Record<string, unknown>) => Problem[] }> = [
  {
    variables: Object.keys(kafkaConfig),
    problems: (config) => {
      const protocol = config.KAFKA_SECURITY_PROTOCOL as (typeof kafkaSecurityProtocols)[number];
      const sasl = protocol.startsWith('SASL_');
      const tls = protocol.endsWith('SSL');
      const problems: Problem[] = [];
      for (const variable of ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) {
        if (sasl && config[variable] === undefined) {
          problems.push({ variable, message: `required with KAFKA_SECURITY_PROTOCOL=${protocol}${variable === 'KAFKA_SASL_MECHANISM' ? ` (one of ${saslMechanisms.join(', ')})` : ''}` });
        }
        if (!sasl && config[variable] !== undefined) problems.push({ variable, message: `only used with KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT or SASL_SSL, but it is ${protocol}` });
      }
      for (const variable of ['KAFKA_SSL_CA_LOCATION', 'KAFKA_SSL_CERTIFICATE_LOCATION', 'KAFKA_SSL_KEY_LOCATION', 'KAFKA_SSL_KEY_PASSWORD']) {
        if (!tls && config[variable] !== undefined) problems.push({ variable, message: `only used with KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL, but it is ${protocol}` });
      }
      if (tls && (config.KAFKA_SSL_CERTIFICATE_LOCATION === undefined) !== (config.KAFKA_SSL_KEY_LOCATION === undefined)) {
        const missing = config.KAFKA_SSL_CERTIFICATE_LOCATION === undefined ? 'KAFKA_SSL_CERTIFICATE_LOCATION' : 'KAFKA_SSL_KEY_LOCATION';
        problems.push({ variable: missing, message: 'a client certificate needs both KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION' });
      }
      return problems;
    },
  },
  {
    variables: Object.keys(schemaRegistryConfig),
    problems: (config) => [
      ...pairProblems(config, 'SCHEMA_REGISTRY_USERNAME', 'SCHEMA_REGISTRY_PASSWORD'),
      ...httpsOnly(config, 'SCHEMA_REGISTRY_CA_LOCATION', 'SCHEMA_REGISTRY_URL'),
    ],
  },
  {
    variables: Object.keys(elasticsearchConfig),
    problems: (config) => [
      ...pairProblems(config, 'ELASTICSEARCH_USERNAME', 'ELASTICSEARCH_PASSWORD'),
      ...(config.ELASTICSEARCH_API_KEY !== undefined && config.ELASTICSEARCH_USERNAME !== undefined
        ? [{ variable: 'ELASTICSEARCH_API_KEY', message: 'set either ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD, not both' }]
        : []),
      ...httpsOnly(config, 'ELASTICSEARCH_CA_LOCATION', 'ELASTICSEARCH_URL'),
    ],
  },
];

/** A user name goes with a password. */
function pairProblems(config: Record<string, unknown>, username: string, password: string): Problem[] {
  if ((config[username] === undefined) === (config[password] === undefined)) return [];
  const missing = config[username] === undefined ? username : password;
  return [{ variable: missing, message: `required with ${missing === username ? password : username}` }];
}

/** A CA file means TLS: with an http:// URL it would silently do nothing. */
function httpsOnly(config: Record<string, unknown>, ca: string, url: string): Problem[] {
  if (config[ca] === undefined || String(config[url]).startsWith('https:')) return [];
  return [{ variable: ca, message: `only used with an https:// ${url}` }];
}

/** Where the shared infrastructure lives; the defaults are the local servers `npm run infra -- up` starts. */
export const infrastructureConfig = {
  ...kafkaConfig,
  ...schemaRegistryConfig,
  ...elasticsearchConfig,
  LOG_LEVEL: env.logLevel(),
  /** Put in front of every topic name, so independent copies of the system can share a cluster. */
  TOPIC_PREFIX: z.string().regex(/^[\w.-]*$/, 'letters, digits, . _ - only').default(''),
};

export type InfrastructureConfig = z.infer<z.ZodObject<typeof infrastructureConfig>>;

/**
 * The token that protects the orders API, the dashboard and every mutating route (see
 * createHttpServer), and that their clients send (`Authorization: Bearer <API_TOKEN>`).
 * Unset, nothing asks for one.
 */
export const apiTokenConfig = {
  API_TOKEN: env.token(),
};

/** What every HTTP server of the project reads. */
export const httpServerConfig = {
  ...apiTokenConfig,
  /**
   * The address it listens on: loopback by default, so a service is reachable from this
   * machine only until someone decides otherwise (the Docker image sets 0.0.0.0: a container's
   * port is published by Docker, on 127.0.0.1 in docker-compose.yml).
   */
  HOST: env.text('127.0.0.1'),
};

export function loadInfrastructureConfig(environment: Environment = process.env): InfrastructureConfig {
  return loadConfig(infrastructureConfig, environment);
}
