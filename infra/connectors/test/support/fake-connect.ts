import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Kafka Connect's REST API as documented (PUT /connectors/{name}/config, GET /connectors/{name}/status),
 * reduced to what register-connectors uses: there is no Connect worker on these machines. It
 * records every request so tests can check the exact exchange.
 */
export interface FakeConnect {
  url: string;
  requests: Array<{ method: string; path: string; contentType: string | undefined; body: unknown }>;
  configs: Map<string, Record<string, string>>;
  /** Status answers per connector, served in turn (the last one repeats); none: 404 as right after creation. */
  statuses: Map<string, object[]>;
  /** Answer the next PUTs with 409 (a rebalance in progress) this many times. */
  conflicts: number;
  close(): Promise<void>;
}

export async function startFakeConnect(): Promise<FakeConnect> {
  const fake: FakeConnect = { url: '', requests: [], configs: new Map(), statuses: new Map(), conflicts: 0, close: async () => undefined };
  const server = http.createServer(async (request, response) => {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    const body: unknown = text ? JSON.parse(text) : undefined;
    const path = request.url ?? '';
    fake.requests.push({ method: request.method ?? '', path, contentType: request.headers['content-type'], body });
    const reply = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    const match = /^\/connectors\/([^/]+)\/(config|status)$/.exec(path);
    if (!match) return reply(404, { error_code: 404, message: `HTTP 404 Not Found` });
    const name = decodeURIComponent(match[1]!);
    if (match[2] === 'config' && request.method === 'PUT') {
      if (fake.conflicts > 0) {
        fake.conflicts--;
        return reply(409, { error_code: 409, message: 'Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)' });
      }
      const config = body as Record<string, string>;
      if (!config['connector.class']) return reply(400, { error_code: 400, message: 'Connector config {} contains no connector type' });
      const existed = fake.configs.has(name);
      fake.configs.set(name, config);
      return reply(existed ? 200 : 201, { name, config, tasks: [], type: config['connector.class'].includes('Source') ? 'source' : 'sink' });
    }
    if (match[2] === 'status' && request.method === 'GET') {
      const answers = fake.statuses.get(name) ?? [];
      const next = answers.length > 1 ? answers.shift() : answers[0];
      if (!next) return reply(404, { error_code: 404, message: `No status found for connector ${name}` });
      return reply(200, next);
    }
    return reply(405, { error_code: 405, message: 'HTTP 405 Method Not Allowed' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}

export function status(name: string, connector: string, tasks: Array<{ state: string; trace?: string }>): object {
  return {
    name,
    connector: { state: connector, worker_id: 'connect:8083' },
    tasks: tasks.map((task, id) => ({ id, worker_id: 'connect:8083', ...task })),
    type: 'source',
  };
}
