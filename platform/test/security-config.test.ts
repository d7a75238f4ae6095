import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadInfrastructureConfig, type Environment } from '../src/config.ts';
import { elasticsearchConnection, schemaRegistryClientArgs } from '../src/http-clients.ts';
import { connectKafka, javaClientProperties, kafkaSecurity } from '../src/kafka.ts';
import { pino } from 'pino';

const folder = mkdtempSync(path.join(os.tmpdir(), 'security-config-'));
const ca = path.join(folder, 'ca.pem');
const cert = path.join(folder, 'client.pem');
const key = path.join(folder, 'client.key');
writeFileSync(ca, 'CA');
writeFileSync(cert, 'CERT');
writeFileSync(key, 'KEY');

afterAll(() => rmSync(folder, { recursive: true, force: true }));

function problems(environment: Environment): string[] {
  try {
    loadInfrastructureConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const saslSsl = { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'app', KAFKA_SASL_PASSWORD: 's3cret!' };

describe('Kafka security settings', () => {
  it('are plaintext by default: no TLS, no SASL', () => {
    expect(kafkaSecurity(loadInfrastructureConfig({}))).toBeUndefined();
  });

  it('make SASL_SSL clients: the mechanism, user and password, and the CA file read', () => {
    const config = loadInfrastructureConfig({ ...saslSsl, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SSL_CA_LOCATION: ca });
    expect(config.KAFKA_SASL_MECHANISM).toBe('SCRAM-SHA-512');
    expect(kafkaSecurity(config)).toEqual({
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', password: 's3cret!' },
      tls: { rejectUnauthorized: true, ca: Buffer.from('CA') },
    });
  });

  it('make SSL clients with a client certificate, and SASL_PLAINTEXT clients without TLS', () => {
    const ssl = loadInfrastructureConfig({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERTIFICATE_LOCATION: cert, KAFKA_SSL_KEY_LOCATION: key, KAFKA_SSL_KEY_PASSWORD: 'k', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' });
    expect(kafkaSecurity(ssl)).toEqual({ tls: { rejectUnauthorized: false, cert: Buffer.from('CERT'), key: Buffer.from('KEY'), passphrase: 'k' } });
    const plain = loadInfrastructureConfig({ ...saslSsl, KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'PLAIN' });
    expect(kafkaSecurity(plain)).toEqual({ sasl: { mechanism: 'PLAIN', username: 'app', password: 's3cret!' } });
  });

  it('name every variable at fault: missing SASL settings, an unknown protocol or mechanism, an unreadable file', () => {
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toEqual([
      'KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL (one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) (it is not set)',
      'KAFKA_SASL_USERNAME: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL (it is not set)',
      'KAFKA_SASL_PASSWORD: required with KAFKA_SECURITY_PROTOCOL=SASL_SSL (it is not set)',
    ]);
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'TLS' })).toEqual(['KAFKA_SECURITY_PROTOCOL: expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (got "TLS")']);
    expect(problems({ ...saslSsl, KAFKA_SASL_MECHANISM: 'GSSAPI' })).toEqual(['KAFKA_SASL_MECHANISM: expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (got "GSSAPI")']);
    expect(problems({ ...saslSsl, KAFKA_SSL_CA_LOCATION: path.join(folder, 'missing.pem') })).toEqual([
      `KAFKA_SSL_CA_LOCATION: cannot read that file (missing, or no permission) (got ${JSON.stringify(path.join(folder, 'missing.pem'))})`,
    ]);
    expect(problems({ KAFKA_SSL_REJECT_UNAUTHORIZED: 'maybe', KAFKA_SECURITY_PROTOCOL: 'SSL' })).toEqual(['KAFKA_SSL_REJECT_UNAUTHORIZED: expected true or false (got "maybe")']);
  });

  it('refuse settings the protocol would silently ignore', () => {
    expect(problems({ KAFKA_SASL_USERNAME: 'app', KAFKA_SSL_CA_LOCATION: ca })).toEqual([
      'KAFKA_SASL_USERNAME: only used with KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT or SASL_SSL, but it is PLAINTEXT (got "app")',
      `KAFKA_SSL_CA_LOCATION: only used with KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL, but it is PLAINTEXT (got ${JSON.stringify(ca)})`,
    ]);
    expect(problems({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERTIFICATE_LOCATION: cert })).toEqual([
      'KAFKA_SSL_KEY_LOCATION: a client certificate needs both KAFKA_SSL_CERTIFICATE_LOCATION and KAFKA_SSL_KEY_LOCATION (it is not set)',
    ]);
  });

  it('become Java client properties for Kafka\'s own tools, a password with quotes escaped', () => {
    expect(javaClientProperties(loadInfrastructureConfig({}))).toBeUndefined();
    expect(javaClientProperties(loadInfrastructureConfig({ ...saslSsl, KAFKA_SASL_PASSWORD: 'a"b\\c', KAFKA_SSL_CA_LOCATION: ca }))).toBe(
      [
        'security.protocol=SASL_SSL',
        'sasl.mechanism=SCRAM-SHA-512',
        'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="app" password="a\\\\"b\\\\\\\\c";',
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${ca}`,
        '',
      ].join('\n'),
    );
    const plain = javaClientProperties(loadInfrastructureConfig({ ...saslSsl, KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'PLAIN' }));
    expect(plain).toContain('org.apache.kafka.common.security.plain.PlainLoginModule required');
  });

  it('never echo a password back in an error', () => {
    const found = problems({ KAFKA_SASL_PASSWORD: 'hunter2' });
    expect(found).toEqual(['KAFKA_SASL_PASSWORD: only used with KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT or SASL_SSL, but it is PLAINTEXT (it is set (value not shown))']);
    expect(found.join('\n')).not.toContain('hunter2');
  });
});

describe('schema registry and Elasticsearch settings', () => {
  it('give the registry client basic auth and an https agent trusting the CA', () => {
    const args = schemaRegistryClientArgs(
      loadInfrastructureConfig({ SCHEMA_REGISTRY_URL: 'https://registry.example:8081', SCHEMA_REGISTRY_USERNAME: 'key', SCHEMA_REGISTRY_PASSWORD: 'secret', SCHEMA_REGISTRY_CA_LOCATION: ca }),
    );
    expect(args.auth).toEqual({ username: 'key', password: 'secret' });
    expect((args.agent as unknown as { options: { ca: Buffer } }).options.ca).toEqual(Buffer.from('CA'));
    expect(schemaRegistryClientArgs(loadInfrastructureConfig({}))).toEqual({});
  });

  it('give the Elasticsearch client a user or an API key, and the CA', () => {
    expect(elasticsearchConnection(loadInfrastructureConfig({ ELASTICSEARCH_URL: 'https://es:9200', ELASTICSEARCH_USERNAME: 'elastic', ELASTICSEARCH_PASSWORD: 'pw', ELASTICSEARCH_CA_LOCATION: ca }))).toEqual({
      node: 'https://es:9200',
      auth: { username: 'elastic', password: 'pw' },
      tls: { ca: Buffer.from('CA') },
    });
    expect(elasticsearchConnection(loadInfrastructureConfig({ ELASTICSEARCH_API_KEY: 'a2V5' }))).toEqual({ node: 'http://127.0.0.1:9200', auth: { apiKey: 'a2V5' } });
    expect(elasticsearchConnection(loadInfrastructureConfig({}))).toEqual({ node: 'http://127.0.0.1:9200' });
  });

  it('name the variable at fault: half a user, a user and an API key, a CA for an http URL', () => {
    expect(problems({ SCHEMA_REGISTRY_USERNAME: 'key' })).toEqual(['SCHEMA_REGISTRY_PASSWORD: required with SCHEMA_REGISTRY_USERNAME (it is not set)']);
    expect(problems({ SCHEMA_REGISTRY_CA_LOCATION: ca })).toEqual([`SCHEMA_REGISTRY_CA_LOCATION: only used with an https:// SCHEMA_REGISTRY_URL (got ${JSON.stringify(ca)})`]);
    expect(problems({ ELASTICSEARCH_PASSWORD: 'pw' })).toEqual(['ELASTICSEARCH_USERNAME: required with ELASTICSEARCH_PASSWORD (it is not set)']);
    expect(problems({ ELASTICSEARCH_USERNAME: 'elastic', ELASTICSEARCH_PASSWORD: 'pw', ELASTICSEARCH_API_KEY: 'k' })).toEqual([
      'ELASTICSEARCH_API_KEY: set either ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD, not both (it is set (value not shown))',
    ]);
  });
});

describe('KAFKA_SSL_REJECT_UNAUTHORIZED=false', () => {
  it('is warned about when a service connects, and not otherwise', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    // Nothing listens on port 1: the connection fails at once, after the warning.
    const connect = (environment: Environment) => connectKafka({ clientId: 'warning-test', config: loadInfrastructureConfig({ KAFKA_BROKERS: '127.0.0.1:1', ...environment }), logger, tuning: { retries: 0, connectTimeoutMs: 1_000 } }).then((kafka) => kafka.close(), () => undefined);
    await connect({ KAFKA_SECURITY_PROTOCOL: 'SSL' });
    expect(lines).toEqual([]);
    await connect({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, msg: expect.stringContaining('KAFKA_SSL_REJECT_UNAUTHORIZED=false') });
  });
});
