import { z } from 'zod';

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

export type Environment = Record<string, string | undefined>;

export function loadConfig<Shape extends z.ZodRawShape>(
  shape: Shape,
  environment: Environment = process.env,
): z.infer<z.ZodObject<Shape>> {
  const result = z.object(shape).safeParse(environment);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.join('.');
    const value = environment[variable];
    const got = value === undefined ? 'it is not set' : `got ${JSON.stringify(value)}`;
    return `${variable}: ${issue.message} (${got})`;
  });
  throw new ConfigError(problems);
}

const hostPort = /^[^\s:,]+:\d{1,5}$/;

/** Reusable field types, so every service spells a port or a broker list the same way. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  milliseconds: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().min(1).default(fallback),
  url: (fallback: string) => z.string().url().default(fallback),
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
};

/** Where the shared infrastructure lives; the defaults are the local servers `npm run infra -- up` starts. */
export const infrastructureConfig = {
  KAFKA_BROKERS: env.brokerList('127.0.0.1:9092'),
  SCHEMA_REGISTRY_URL: env.url('http://127.0.0.1:8081/apis/ccompat/v7'),
  ELASTICSEARCH_URL: env.url('http://127.0.0.1:9200'),
  LOG_LEVEL: env.logLevel(),
  /** Put in front of every topic name, so independent copies of the system can share a cluster. */
  TOPIC_PREFIX: z.string().regex(/^[\w.-]*$/, 'letters, digits, . _ - only').default(''),
};

export type InfrastructureConfig = z.infer<z.ZodObject<typeof infrastructureConfig>>;

export function loadInfrastructureConfig(environment: Environment = process.env): InfrastructureConfig {
  return loadConfig(infrastructureConfig, environment);
}
