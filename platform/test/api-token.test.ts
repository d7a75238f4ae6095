import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTokenConfig, ConfigError, httpServerConfig, kafkaConfig, loadConfig } from '../src/config.ts';
import { createHttpServer, Router, type HttpServer } from '../src/http.ts';
import { createLogger } from '../src/logger.ts';

const token = 'a-token-of-the-deployment-0123456789';

async function serve(protectReads: boolean): Promise<{ server: HttpServer; url: string }> {
  const router = new Router();
  router.get('/v1/things', (ctx) => {
    ctx.body = { things: [] };
  });
  router.post('/v1/things', (ctx) => {
    ctx.status = 201;
    ctx.body = { created: true };
  });
  const server = createHttpServer({ logger: createLogger('api-token-test', 'silent'), router, isReady: () => true, apiToken: token, protectReads });
  return { server, url: `http://127.0.0.1:${await server.listen(0)}` };
}

describe('an HTTP server with API_TOKEN', () => {
  const servers: HttpServer[] = [];
  let everything: string;
  let mutations: string;
  beforeAll(async () => {
    const all = await serve(true);
    const mutating = await serve(false);
    servers.push(all.server, mutating.server);
    everything = all.url;
    mutations = mutating.url;
  });
  afterAll(() => Promise.all(servers.map((server) => server.close())));

  it('answers 401 with a JSON error and the schemes it takes, without the token or with another one', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${token}x`, `Basic ${Buffer.from(`user:${token.slice(1)}`).toString('base64')}`, token]) {
      const response = await fetch(`${everything}/v1/things`, { headers: authorization ? { authorization } : {} });
      expect(response.status, String(authorization)).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="order-ecosystem", Basic realm="order-ecosystem"/);
      expect(await response.json()).toEqual({ error: 'this service needs its API token: Authorization: Bearer <API_TOKEN>', reason: authorization?.includes(' ') ? 'wrong token' : 'no token' });
    }
  });

  it('serves a request with the token, as a bearer token or as the password of basic auth (what a browser sends)', async () => {
    expect((await fetch(`${everything}/v1/things`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${everything}/v1/things`, { method: 'POST', headers: { authorization: `bearer ${token}` } })).status).toBe(201);
    expect((await fetch(`${everything}/v1/things`, { headers: { authorization: `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}` } })).status).toBe(200);
  });

  it('keeps the probes, the metrics and the API description open', async () => {
    for (const probe of ['/health', '/ready', '/metrics', '/openapi.json']) expect((await fetch(`${everything}${probe}`)).status, probe).toBe(200);
  });

  it('protects only the mutating requests of a service whose reads are public', async () => {
    expect((await fetch(`${mutations}/v1/things`)).status).toBe(200);
    expect((await fetch(`${mutations}/v1/things`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${mutations}/v1/things`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status).toBe(201);
  });
});

describe('secrets in files', () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'secret-files-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const written = path.join(folder, name);
    writeFileSync(written, content, { mode: 0o600 });
    return written;
  };
  const problems = (environment: Record<string, string>) => {
    try {
      loadConfig({ ...httpServerConfig, ...kafkaConfig }, environment);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('give API_TOKEN (or any password) as NAME_FILE, without the final line break', () => {
    expect(loadConfig(apiTokenConfig, { API_TOKEN_FILE: file('token', `${token}\n`) }).API_TOKEN).toBe(token);
    const sasl = loadConfig(kafkaConfig, { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'app', KAFKA_SASL_PASSWORD_FILE: file('password', 'p@ss\n') });
    expect(sasl.KAFKA_SASL_PASSWORD).toBe('p@ss');
    expect(loadConfig(apiTokenConfig, {}).API_TOKEN).toBeUndefined();
    expect(loadConfig(apiTokenConfig, { API_TOKEN: '' }).API_TOKEN).toBeUndefined();
  });

  it('are refused when unreadable, given twice, or too short for a token, without showing the secret', () => {
    expect(problems({ API_TOKEN_FILE: path.join(folder, 'missing') })[0]).toMatch(/^API_TOKEN_FILE: cannot read .*missing/);
    expect(problems({ API_TOKEN: token, API_TOKEN_FILE: file('both', token) })).toEqual(['API_TOKEN_FILE: set either API_TOKEN or API_TOKEN_FILE, not both (it is set (value not shown))']);
    expect(problems({ API_TOKEN: 'short' })).toEqual(['API_TOKEN: at least 16 characters (it is set (value not shown))']);
  });
});
