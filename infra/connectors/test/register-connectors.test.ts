import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectorFiles, readConnectorDefinition } from '../src/connect-configs.ts';
import { ConnectError, registerConnector } from '../src/connect-rest.ts';
import { startFakeConnect, status, type FakeConnect } from './support/fake-connect.ts';

const source = readConnectorDefinition(connectorFiles.customersSource);
const sink = readConnectorDefinition(connectorFiles.ordersSink);
const fast = { timeoutMs: 5_000, pollIntervalMs: 10 };
let connect: FakeConnect;

beforeEach(async () => {
  connect = await startFakeConnect();
});
afterEach(async () => {
  await connect.close();
});

describe('registering a connector through the Connect REST API', () => {
  it('PUTs the config to /connectors/{name}/config and waits until the connector and its tasks run', async () => {
    connect.statuses.set(source.name, [status(source.name, 'UNASSIGNED', []), status(source.name, 'RUNNING', [{ state: 'UNASSIGNED' }]), status(source.name, 'RUNNING', [{ state: 'RUNNING' }])]);
    const progress: string[] = [];
    const answer = await registerConnector(connect.url, source, { ...fast, onProgress: (line) => progress.push(line) });

    expect(answer.tasks).toEqual([{ id: 0, state: 'RUNNING', worker_id: 'connect:8083' }]);
    expect(connect.requests[0]).toEqual({ method: 'PUT', path: '/connectors/jdbc-source-customers/config', contentType: 'application/json', body: { ...source.config, name: source.name } });
    expect(connect.requests.slice(1).every((request) => request.method === 'GET' && request.path === '/connectors/jdbc-source-customers/status')).toBe(true);
    expect(progress).toEqual(['created connector jdbc-source-customers', 'connector jdbc-source-customers is RUNNING with 1 task(s)']);
  });

  it('is idempotent: registering again updates the same connector', async () => {
    connect.statuses.set(sink.name, [status(sink.name, 'RUNNING', [{ state: 'RUNNING' }])]);
    const progress: string[] = [];
    await registerConnector(connect.url, sink, fast);
    await registerConnector(connect.url, sink, { ...fast, onProgress: (line) => progress.push(line) });
    expect(progress[0]).toBe('updated connector elasticsearch-sink-orders');
    expect([...connect.configs.keys()]).toEqual(['elasticsearch-sink-orders']);
  });

  it('waits out a rebalance (409) and a status not reported yet (404)', async () => {
    connect.conflicts = 2;
    connect.statuses.set(source.name, []);
    const registering = registerConnector(connect.url, source, fast);
    setTimeout(() => connect.statuses.set(source.name, [status(source.name, 'RUNNING', [{ state: 'RUNNING' }])]), 50);
    await expect(registering).resolves.toMatchObject({ connector: { state: 'RUNNING' } });
    expect(connect.requests.filter((request) => request.method === 'PUT')).toHaveLength(3);
  });

  it('reports a failed task with the start of its trace', async () => {
    connect.statuses.set(source.name, [status(source.name, 'RUNNING', [{ state: 'FAILED', trace: 'org.apache.kafka.connect.errors.ConnectException: no suitable driver\n\tat x\n\tat y\n\tat z' }])]);
    await expect(registerConnector(connect.url, source, fast)).rejects.toThrow(
      'connector jdbc-source-customers: task 0 FAILED: org.apache.kafka.connect.errors.ConnectException: no suitable driver | \tat x | \tat y',
    );
  });

  it("reports Connect's refusal with its message", async () => {
    await expect(registerConnector(connect.url, { name: 'broken', config: {} }, fast)).rejects.toThrow('Kafka Connect refused connector broken (HTTP 400): Connector config {} contains no connector type');
  });

  it('gives up after the timeout, saying what it saw last', async () => {
    connect.statuses.set(source.name, [status(source.name, 'RUNNING', [{ state: 'UNASSIGNED' }])]);
    await expect(registerConnector(connect.url, source, { timeoutMs: 100, pollIntervalMs: 10 })).rejects.toThrow(/not RUNNING within 100 ms \(connector RUNNING, tasks 0:UNASSIGNED\)/);
  });

  it('says clearly when Connect is not there', async () => {
    const url = connect.url;
    await connect.close();
    connect = await startFakeConnect();
    await expect(registerConnector(url, source, fast)).rejects.toThrow(ConnectError);
    await expect(registerConnector(url, source, fast)).rejects.toThrow(/cannot reach Kafka Connect at http:\/\/127\.0\.0\.1:\d+ .*is the Connect worker running\?/);
  });
});

const cli = fileURLToPath(new URL('../src/register-connectors.ts', import.meta.url));
const tsx = path.resolve(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');
function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, [cli, ...args], { timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

describe('the register-connectors CLI', () => {
  it('explains itself with --help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/--connect-url <url>\s.*default:\s+"http:\/\/localhost:8083"/s);
  });

  it('registers both connectors', async () => {
    for (const { name } of [source, sink]) connect.statuses.set(name, [status(name, 'RUNNING', [{ state: 'RUNNING' }])]);
    const { code, stdout, stderr } = await run(['--connect-url', connect.url, '--no-index']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('connector jdbc-source-customers is RUNNING');
    expect(stdout).toContain('connector elasticsearch-sink-orders is RUNNING');
    expect(connect.configs.get('elasticsearch-sink-orders')).toEqual({ ...sink.config, name: sink.name });
  });

  it('fails with a clear message when Connect is not there', async () => {
    const { code, stderr } = await run(['--connect-url', 'http://127.0.0.1:1', '--no-index', '--timeout', '1000']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^register-connectors: cannot reach Kafka Connect at http:\/\/127\.0\.0\.1:1/);
  });
});
