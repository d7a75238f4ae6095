import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fetchWriterType } from '@ecosystem/avro';
import { createSchemaRegistryClient, loadInfrastructureConfig, probeElasticsearch, probeSchemaRegistry, type Environment } from '@ecosystem/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElasticsearchClient } from '../connectors/src/elasticsearch.ts';
import { findJava } from '../src/java.ts';
import { infraPaths } from '../src/paths.ts';
import { ensureSecrets, type KafkaSecrets } from '../src/servers/kafka-security.ts';

/**
 * The schema registry and Elasticsearch clients, configured from the variables a user sets
 * (SCHEMA_REGISTRY_USERNAME/PASSWORD/CA_LOCATION, ELASTICSEARCH_USERNAME/PASSWORD/API_KEY/CA_LOCATION),
 * against an https server that asks for credentials, with a certificate of a private CA (made
 * by the launcher's keytool code, as for the secured Kafka). The server stands in for the real
 * ones: it answers the one request each client makes here, the way they answer it.
 */
let home: string;
let secrets: KafkaSecrets;
let server: https.Server;
let url: string;
const seen: Array<string | undefined> = [];

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'secure-http-'));
  secrets = await ensureSecrets(infraPaths(home), await findJava(17, 'keytool'));
  server = https.createServer({ pfx: await readFile(secrets.keystore), passphrase: secrets.storePassword }, (request, response) => {
    const authorization = request.headers.authorization;
    seen.push(authorization);
    const allowed = [`Basic ${Buffer.from('registry-key:registry-secret').toString('base64')}`, `Basic ${Buffer.from('elastic:es-password').toString('base64')}`, 'ApiKey ZXMta2V5'];
    if (!authorization || !allowed.includes(authorization)) {
      response.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="test"', 'x-elastic-product': 'Elasticsearch' });
      response.end(JSON.stringify({ error_code: 401, message: 'Unauthorized' }));
    } else if (request.url === '/schemas/ids/7') {
      response.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'Kept', fields: [{ name: 'a', type: 'string' }] }) }));
    } else if (request.url === '/subjects') {
      response.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end('[]');
    } else if (request.url?.startsWith('/_cluster/health')) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      response.end(JSON.stringify({ status: 'yellow' }));
    } else if (request.url?.startsWith('/orders.v1/_count')) {
      response.writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
      response.end(JSON.stringify({ count: 3, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } }));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(home, { recursive: true, force: true });
});

const registry = (environment: Environment) => createSchemaRegistryClient(loadInfrastructureConfig({ SCHEMA_REGISTRY_URL: url, ...environment }), { retry: { retries: 0 } });
const elasticsearch = (environment: Environment) => createElasticsearchClient(loadInfrastructureConfig({ ELASTICSEARCH_URL: url, ...environment }));

describe('the schema registry client over TLS with basic auth', () => {
  it('trusts the CA of SCHEMA_REGISTRY_CA_LOCATION and logs in with SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD', async () => {
    const type = await fetchWriterType(registry({ SCHEMA_REGISTRY_USERNAME: 'registry-key', SCHEMA_REGISTRY_PASSWORD: 'registry-secret', SCHEMA_REGISTRY_CA_LOCATION: secrets.caFile }), 7);
    expect(type.name).toBe('Kept');
    expect(seen).toContain(`Basic ${Buffer.from('registry-key:registry-secret').toString('base64')}`);
  });

  it('is refused with a wrong secret, and does not trust the server without the CA', async () => {
    await expect(fetchWriterType(registry({ SCHEMA_REGISTRY_USERNAME: 'registry-key', SCHEMA_REGISTRY_PASSWORD: 'wrong', SCHEMA_REGISTRY_CA_LOCATION: secrets.caFile }), 7)).rejects.toThrow(/Unauthorized|401/);
    await expect(fetchWriterType(registry({ SCHEMA_REGISTRY_USERNAME: 'registry-key', SCHEMA_REGISTRY_PASSWORD: 'registry-secret' }), 7)).rejects.toThrow(/certificate/);
  });
});

describe("the launcher's health probes of an external registry and Elasticsearch", () => {
  const settings = (environment: Environment) => loadInfrastructureConfig({ SCHEMA_REGISTRY_URL: url, ELASTICSEARCH_URL: url, ...environment });

  it('reach them with the credentials and CA of the configuration', async () => {
    const ca = { SCHEMA_REGISTRY_CA_LOCATION: secrets.caFile, ELASTICSEARCH_CA_LOCATION: secrets.caFile };
    expect(await probeSchemaRegistry(settings({ ...ca, SCHEMA_REGISTRY_USERNAME: 'registry-key', SCHEMA_REGISTRY_PASSWORD: 'registry-secret' }))).toEqual({ state: 'up' });
    expect(await probeElasticsearch(settings({ ...ca, ELASTICSEARCH_API_KEY: 'ZXMta2V5' }))).toEqual({ state: 'up' });
  });

  it('say which setting to check when refused, instead of waiting for a server that will never let them in', async () => {
    const ca = { SCHEMA_REGISTRY_CA_LOCATION: secrets.caFile, ELASTICSEARCH_CA_LOCATION: secrets.caFile };
    expect(await probeSchemaRegistry(settings({ ...ca, SCHEMA_REGISTRY_USERNAME: 'registry-key', SCHEMA_REGISTRY_PASSWORD: 'wrong' }))).toEqual({
      state: 'refused',
      reason: `The schema registry at ${url} rejected SCHEMA_REGISTRY_USERNAME=registry-key (HTTP 401): check SCHEMA_REGISTRY_PASSWORD`,
    });
    expect(await probeElasticsearch(settings({ ...ca, ELASTICSEARCH_USERNAME: 'elastic', ELASTICSEARCH_PASSWORD: 'wrong' }))).toEqual({
      state: 'refused',
      reason: `Elasticsearch at ${url} rejected ELASTICSEARCH_USERNAME=elastic (check ELASTICSEARCH_PASSWORD) (HTTP 401)`,
    });
    expect(await probeSchemaRegistry(settings({}))).toMatchObject({ state: 'refused', reason: expect.stringMatching(/not trusted .*set SCHEMA_REGISTRY_CA_LOCATION/) as unknown });
    expect(await probeElasticsearch(settings({ ELASTICSEARCH_CA_LOCATION: secrets.caFile }))).toMatchObject({ state: 'refused', reason: expect.stringMatching(/wants credentials/) as unknown });
  });
});

describe('the Elasticsearch client over TLS with a user or an API key', () => {
  it('trusts the CA of ELASTICSEARCH_CA_LOCATION and logs in with a user and password, or an API key', async () => {
    for (const credentials of [{ ELASTICSEARCH_USERNAME: 'elastic', ELASTICSEARCH_PASSWORD: 'es-password' }, { ELASTICSEARCH_API_KEY: 'ZXMta2V5' }]) {
      const client = elasticsearch({ ...credentials, ELASTICSEARCH_CA_LOCATION: secrets.caFile });
      try {
        expect((await client.count({ index: 'orders.v1' })).count).toBe(3);
      } finally {
        await client.close();
      }
    }
    expect(seen).toContain('ApiKey ZXMta2V5');
  });

  it('is refused with a wrong password, and does not trust the server without the CA', async () => {
    const wrong = elasticsearch({ ELASTICSEARCH_USERNAME: 'elastic', ELASTICSEARCH_PASSWORD: 'wrong', ELASTICSEARCH_CA_LOCATION: secrets.caFile });
    await expect(wrong.count({ index: 'orders.v1' })).rejects.toMatchObject({ statusCode: 401 });
    await wrong.close();
    const untrusting = elasticsearch({ ELASTICSEARCH_USERNAME: 'elastic', ELASTICSEARCH_PASSWORD: 'es-password' });
    await expect(untrusting.count({ index: 'orders.v1' })).rejects.toThrow(/certificate/);
    await untrusting.close();
  });
});
