import type { ConnectorDefinition } from './connect-configs.ts';
import { describeError, sleep } from 'kstreams';

/** The answer of `GET /connectors/{name}/status`. */
export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id?: string; trace?: string };
  tasks: Array<{ id: number; state: string; worker_id?: string; trace?: string }>;
}

export class ConnectError extends Error {
  override name = 'ConnectError';
}

export interface RegisterOptions {
  /** How long to wait for the connector and its tasks to be RUNNING. */
  timeoutMs?: number;
  pollIntervalMs?: number;
  onProgress?: (line: string) => void;
}

/**
 * Creates or updates the connector through `PUT /connectors/{name}/config` (idempotent: the same
 * config twice changes nothing), then waits until the connector and every task are RUNNING.
 */
export async function registerConnector(connectUrl: string, { name, config }: ConnectorDefinition, options: RegisterOptions = {}): Promise<ConnectorStatus> {
  const { timeoutMs = 60_000, pollIntervalMs = 500, onProgress = () => undefined } = options;
  const deadline = Date.now() + timeoutMs;
  const base = connectUrl.replace(/\/+$/, '');
  const connector = `${base}/connectors/${encodeURIComponent(name)}`;

  // 409: the worker is rebalancing or another config change is in flight; it answers again shortly.
  let put = await request(`${connector}/config`, { method: 'PUT', body: JSON.stringify({ ...config, name }) });
  while (put.status === 409 && Date.now() < deadline) {
    await sleep(pollIntervalMs);
    put = await request(`${connector}/config`, { method: 'PUT', body: JSON.stringify({ ...config, name }) });
  }
  if (put.status !== 200 && put.status !== 201) throw new ConnectError(`Kafka Connect refused connector ${name} (HTTP ${put.status}): ${errorMessage(put.body)}`);
  onProgress(`${put.status === 201 ? 'created' : 'updated'} connector ${name}`);

  let last = 'no status yet';
  while (Date.now() < deadline) {
    const answer = await request(`${connector}/status`, { method: 'GET' });
    if (answer.status === 200) {
      const status = answer.body as ConnectorStatus;
      const failed = [status.connector, ...status.tasks].find((part) => part.state === 'FAILED');
      if (failed) {
        const what = 'id' in failed ? `task ${failed.id}` : 'the connector';
        throw new ConnectError(`connector ${name}: ${what} FAILED: ${firstLines(failed.trace)}`);
      }
      if (status.connector.state === 'RUNNING' && status.tasks.length > 0 && status.tasks.every((task) => task.state === 'RUNNING')) {
        onProgress(`connector ${name} is RUNNING with ${status.tasks.length} task(s)`);
        return status;
      }
      last = `connector ${status.connector.state}, tasks ${status.tasks.map((task) => `${task.id}:${task.state}`).join(' ') || 'none yet'}`;
    } else if (answer.status !== 404) {
      // 404 right after creation: the worker has not reported a status yet.
      last = `HTTP ${answer.status}: ${errorMessage(answer.body)}`;
    }
    await sleep(pollIntervalMs);
  }
  throw new ConnectError(`connector ${name} was not RUNNING within ${timeoutMs} ms (${last})`);
}

async function request(url: string, init: { method: string; body?: string }): Promise<{ status: number; body: unknown }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', accept: 'application/json' } });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new ConnectError(`cannot reach Kafka Connect at ${new URL(url).origin} (${describeError(error)}${cause}); is the Connect worker running?`);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page, say): keep the text for the message.
  }
  return { status: response.status, body };
}

function errorMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message);
  return typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body);
}

function firstLines(trace: string | undefined): string {
  return (trace ?? 'no trace').split('\n').slice(0, 3).join(' | ');
}
