import { describe, expect, it } from 'vitest';
import { ConfigError, env, httpServerConfig, loadConfig, loadInfrastructureConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('applies defaults for a bare environment', () => {
    expect(loadInfrastructureConfig({})).toEqual({
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
      ELASTICSEARCH_URL: 'http://127.0.0.1:9200',
      LOG_LEVEL: 'info',
      TOPIC_PREFIX: '',
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      KAFKA_SSL_REJECT_UNAUTHORIZED: true,
    });
  });

  it('parses broker lists and numbers from strings', () => {
    const config = loadConfig({ KAFKA_BROKERS: env.brokerList('x:1'), PORT: env.port(8000) }, { KAFKA_BROKERS: 'a:9092, b:9093', PORT: '8100' });
    expect(config).toEqual({ KAFKA_BROKERS: ['a:9092', 'b:9093'], PORT: 8100 });
  });

  it('names every variable at fault and what it got, in one error', () => {
    const failure = (() => {
      try {
        loadConfig(
          { KAFKA_BROKERS: env.brokerList('x:1'), PORT: env.port(8000), SCHEMA_REGISTRY_URL: env.url('http://x') },
          { KAFKA_BROKERS: 'localhost', PORT: '70000', SCHEMA_REGISTRY_URL: 'not a url' },
        );
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(failure).toBeInstanceOf(ConfigError);
    const problems = (failure as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^KAFKA_BROKERS: expected a comma-separated list of host:port \(got "localhost"\)$/);
    expect(problems[1]).toMatch(/^PORT: .* \(got "70000"\)$/);
    expect(problems[2]).toMatch(/^SCHEMA_REGISTRY_URL: .* \(got "not a url"\)$/);
    expect((failure as Error).message).toMatch(/^Invalid configuration:\n {2}- KAFKA_BROKERS/);
  });

  it('rejects an unknown log level', () => {
    expect(() => loadInfrastructureConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL: .*\(got "loud"\)/);
  });
});

describe('an HTTP server', () => {
  it('listens on loopback unless HOST says otherwise', () => {
    expect(loadConfig(httpServerConfig, {}).HOST).toBe('127.0.0.1');
    expect(loadConfig(httpServerConfig, { HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
  });
});
