import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A pass-through proxy in front of the real Elasticsearch that can play its failures: refuse
 * connections (Elasticsearch down) or answer bulk requests with 429 / 503. The documents still
 * go to, and are read from, the real server.
 */
export type ProxyMode = 'pass' | 'down' | 'bulk-429' | 'bulk-503';

export interface ElasticsearchProxy {
  url: string;
  mode: ProxyMode;
  /** Bulk requests refused so far. */
  refusedBulks: number;
  close(): Promise<void>;
}

export async function startElasticsearchProxy(target: string): Promise<ElasticsearchProxy> {
  const upstream = new URL(target);
  const state: ElasticsearchProxy = { url: '', mode: 'pass', refusedBulks: 0, close: async () => undefined };
  const server = http.createServer((request, response) => {
    const isBulk = /\/_bulk\b/.test(request.url ?? '');
    if (state.mode === 'down') {
      if (isBulk) state.refusedBulks++;
      request.socket.destroy();
      return;
    }
    if (isBulk && (state.mode === 'bulk-429' || state.mode === 'bulk-503')) {
      state.refusedBulks++;
      const status = state.mode === 'bulk-429' ? 429 : 503;
      request.resume();
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { type: status === 429 ? 'es_rejected_execution_exception' : 'unavailable', reason: 'injected by the test proxy' }, status }));
      return;
    }
    const forward = http.request(
      { hostname: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
