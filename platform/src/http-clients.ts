import http from 'node:http';
import https from 'node:https';
import { createSchemaRegistry, type SchemaRegistryClientArgs } from '@ecosystem/avro';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { readSetting, type ElasticsearchConfig, type SchemaRegistryConfig } from './config.ts';

/**
 * The schema registry client of a loaded configuration: SCHEMA_REGISTRY_URL, with HTTP basic
 * auth from SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD (Confluent Cloud: the
 * registry's API key and secret) and, for an https registry with a private CA,
 * SCHEMA_REGISTRY_CA_LOCATION. `clientArgs` adds to them (retries, middlewares).
 */
export function createSchemaRegistryClient(config: SchemaRegistryConfig, clientArgs: Omit<SchemaRegistryClientArgs, 'host'> = {}): SchemaRegistry {
  return createSchemaRegistry(config.SCHEMA_REGISTRY_URL, { ...schemaRegistryClientArgs(config), ...clientArgs });
}

/** The authentication and TLS part of the registry client's arguments. */
export function schemaRegistryClientArgs(config: SchemaRegistryConfig): Omit<SchemaRegistryClientArgs, 'host'> {
  return {
    ...(config.SCHEMA_REGISTRY_USERNAME !== undefined && config.SCHEMA_REGISTRY_PASSWORD !== undefined
      ? { auth: { username: config.SCHEMA_REGISTRY_USERNAME, password: config.SCHEMA_REGISTRY_PASSWORD } }
      : {}),
    ...(config.SCHEMA_REGISTRY_CA_LOCATION
      ? { agent: new https.Agent({ keepAlive: true, ca: readSetting(config.SCHEMA_REGISTRY_CA_LOCATION, 'SCHEMA_REGISTRY_CA_LOCATION') }) }
      : {}),
  };
}

/** The connection options of @elastic/elasticsearch's `Client` (8.x) that a configuration decides. */
export interface ElasticsearchConnectionOptions {
  node: string;
  auth?: { username: string; password: string } | { apiKey: string };
  tls?: { ca: Buffer };
}

/**
 * Where Elasticsearch is and how to log in: ELASTICSEARCH_URL, a user (ELASTICSEARCH_USERNAME
 * and ELASTICSEARCH_PASSWORD) or an API key (ELASTICSEARCH_API_KEY), and for https with a
 * private CA (Elasticsearch's own security setup makes one) ELASTICSEARCH_CA_LOCATION.
 */
export function elasticsearchConnection(config: ElasticsearchConfig): ElasticsearchConnectionOptions {
  const auth =
    config.ELASTICSEARCH_API_KEY !== undefined
      ? { apiKey: config.ELASTICSEARCH_API_KEY }
      : config.ELASTICSEARCH_USERNAME !== undefined && config.ELASTICSEARCH_PASSWORD !== undefined
        ? { username: config.ELASTICSEARCH_USERNAME, password: config.ELASTICSEARCH_PASSWORD }
        : undefined;
  return {
    node: config.ELASTICSEARCH_URL,
    ...(auth ? { auth } : {}),
    ...(config.ELASTICSEARCH_CA_LOCATION ? { tls: { ca: readSetting(config.ELASTICSEARCH_CA_LOCATION, 'ELASTICSEARCH_CA_LOCATION') } } : {}),
  };
}

/** The answer of a health probe: up, not (yet) answering, or refusing the configured credentials or TLS settings (a one-line reason naming them). */
export type ProbeAnswer = { state: 'up' } | { state: 'down' } | { state: 'refused'; reason: string };

/** Node's codes for a server certificate the client cannot trust. */
const untrustedCertificate = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** One GET, with the configured credentials and CA, that never throws: the status and body, or the network error's code. */
function probe(url: string, headers: Record<string, string>, ca: Buffer | undefined, timeoutMs: number): Promise<{ status: number; body: string } | { error: string; code?: string }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const request = (target.protocol === 'https:' ? https : http).request(target, { method: 'GET', headers, timeout: timeoutMs, ...(ca ? { ca } : {}) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', (error) => resolve({ error: error.message }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.message, ...(error.code ? { code: error.code } : {}) }));
    request.end();
  });
}

function basicAuth(username: string | undefined, password: string | undefined): Record<string, string> {
  return username !== undefined && password !== undefined ? { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } : {};
}

/**
 * Whether the schema registry of a configuration answers (`GET /subjects`), as its clients
 * reach it: with SCHEMA_REGISTRY_USERNAME/PASSWORD and SCHEMA_REGISTRY_CA_LOCATION. A 401 or
 * 403, or a certificate the CA does not vouch for, is `refused`, with the variable to check.
 */
export async function probeSchemaRegistry(config: SchemaRegistryConfig, timeoutMs = 2_000): Promise<ProbeAnswer> {
  const ca = config.SCHEMA_REGISTRY_CA_LOCATION ? readSetting(config.SCHEMA_REGISTRY_CA_LOCATION, 'SCHEMA_REGISTRY_CA_LOCATION') : undefined;
  const answer = await probe(`${config.SCHEMA_REGISTRY_URL}/subjects`, basicAuth(config.SCHEMA_REGISTRY_USERNAME, config.SCHEMA_REGISTRY_PASSWORD), ca, timeoutMs);
  if ('status' in answer) {
    if (answer.status === 401 || answer.status === 403) {
      return {
        state: 'refused',
        reason:
          config.SCHEMA_REGISTRY_USERNAME === undefined
            ? `The schema registry at ${config.SCHEMA_REGISTRY_URL} wants credentials (HTTP ${answer.status}): set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`
            : `The schema registry at ${config.SCHEMA_REGISTRY_URL} rejected SCHEMA_REGISTRY_USERNAME=${config.SCHEMA_REGISTRY_USERNAME} (HTTP ${answer.status}): check SCHEMA_REGISTRY_PASSWORD`,
      };
    }
    return answer.status >= 200 && answer.status < 300 ? { state: 'up' } : { state: 'down' };
  }
  if (answer.code && untrustedCertificate.test(answer.code)) {
    return { state: 'refused', reason: `The TLS certificate of the schema registry at ${config.SCHEMA_REGISTRY_URL} is not trusted (${answer.error}): set SCHEMA_REGISTRY_CA_LOCATION to the CA that signed it` };
  }
  return { state: 'down' };
}

/**
 * Whether Elasticsearch of a configuration is up (cluster health yellow or green), as its
 * clients reach it: with ELASTICSEARCH_USERNAME/PASSWORD or ELASTICSEARCH_API_KEY and
 * ELASTICSEARCH_CA_LOCATION. Refused credentials or an untrusted certificate are `refused`.
 */
export async function probeElasticsearch(config: ElasticsearchConfig, timeoutMs = 3_000): Promise<ProbeAnswer> {
  const connection = elasticsearchConnection(config);
  const headers = connection.auth && 'apiKey' in connection.auth ? { authorization: `ApiKey ${connection.auth.apiKey}` } : basicAuth(config.ELASTICSEARCH_USERNAME, config.ELASTICSEARCH_PASSWORD);
  const answer = await probe(`${config.ELASTICSEARCH_URL}/_cluster/health?wait_for_status=yellow&timeout=1s`, headers, connection.tls?.ca, timeoutMs);
  if ('status' in answer) {
    if (answer.status === 401 || answer.status === 403) {
      const who = config.ELASTICSEARCH_API_KEY !== undefined ? 'ELASTICSEARCH_API_KEY' : config.ELASTICSEARCH_USERNAME !== undefined ? `ELASTICSEARCH_USERNAME=${config.ELASTICSEARCH_USERNAME} (check ELASTICSEARCH_PASSWORD)` : undefined;
      return {
        state: 'refused',
        reason: who
          ? `Elasticsearch at ${config.ELASTICSEARCH_URL} rejected ${who} (HTTP ${answer.status})`
          : `Elasticsearch at ${config.ELASTICSEARCH_URL} wants credentials (HTTP ${answer.status}): set ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD, or ELASTICSEARCH_API_KEY`,
      };
    }
    if (answer.status !== 200) return { state: 'down' };
    try {
      const status = (JSON.parse(answer.body) as { status?: string }).status;
      return status === 'green' || status === 'yellow' ? { state: 'up' } : { state: 'down' };
    } catch {
      return { state: 'down' };
    }
  }
  if (answer.code && untrustedCertificate.test(answer.code)) {
    return { state: 'refused', reason: `The TLS certificate of Elasticsearch at ${config.ELASTICSEARCH_URL} is not trusted (${answer.error}): set ELASTICSEARCH_CA_LOCATION to the CA that signed it` };
  }
  return { state: 'down' };
}
