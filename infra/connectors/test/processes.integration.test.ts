import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { scrape, sumOf } from '../../../test/support/prometheus.ts';
import { brokers, cleanUp, elasticsearchUrl, eventually, registryUrl, testKafka, uniquePrefix } from './support/servers.ts';

const kafka = testKafka();
const prefix = uniquePrefix('processes');
const children: ChildProcess[] = [];
let directory: string | undefined;

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (directory) await rm(directory, { recursive: true, force: true });
  await cleanUp(kafka, prefix);
});

/** Starts an entry point the way a deployment does and collects its JSON log lines. */
function launch(entry: string, environment: Record<string, string>): { child: ChildProcess; logs: Array<Record<string, unknown>>; stderr: () => string } {
  const child = spawn(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', fileURLToPath(new URL(`../src/${entry}`, import.meta.url))], {
    env: { ...process.env, KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, ELASTICSEARCH_URL: elasticsearchUrl, TOPIC_PREFIX: prefix, PORT: '0', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const logs: Array<Record<string, unknown>> = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { child, logs, stderr: () => stderr };
}

async function checkProbesAndStop(service: string, { child, logs }: ReturnType<typeof launch>): Promise<Record<string, unknown>> {
  const started = await eventually(() => logs.find((line) => line['msg'] === `${service} started`), `${service} to start`);
  const base = `http://127.0.0.1:${Number(started['port'])}`;
  expect((await fetch(`${base}/health`)).status).toBe(200);
  const ready = await eventually(async () => {
    const answer = await fetch(`${base}/ready`);
    return answer.status === 200 ? ((await answer.json()) as Record<string, unknown>) : undefined;
  }, `${service} to be ready`);
  // The metrics every service serves: the readiness polls above, by route and status, and Node's.
  const metrics = await scrape(base);
  expect(sumOf(metrics, 'http_request_duration_seconds_count', { method: 'GET', route: '/ready', status: '200' })).toBe(1);
  expect(sumOf(metrics, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exit).toBe(0);
  expect(logs.map((line) => line['msg'])).toContain(`${service} stopped`);
  return ready;
}

describe('the entry points', () => {
  it('customers-source serves /health, /ready and /metrics, streams the seeded rows and stops cleanly on SIGTERM', async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'customers-process-'));
    // The anchor's nine customers only: the default base of a thousand is not what this checks.
    const running = launch('customers-source-main.ts', { CUSTOMERS_DB: path.join(directory, 'customers.db'), CUSTOMER_COUNT: '9' });
    await eventually(() => running.logs.find((line) => line['msg'] === 'streamed customers' && line['lastId'] === 9), 'the seeded rows to be streamed');
    expect(await checkProbesAndStop('customers-source', running)).toMatchObject({ ready: true, service: 'customers-source', position: 9, rowsStreamed: 9 });
  });

  it('orders-sink serves /health, /ready and /metrics and stops cleanly on SIGTERM', async () => {
    const running = launch('orders-sink-main.ts', {});
    expect(await checkProbesAndStop('orders-sink', running)).toMatchObject({ ready: true, service: 'orders-sink', documentsWritten: 0 });
  });

  it('refuses a bad configuration naming the variable', async () => {
    const { child, stderr } = launch('orders-sink-main.ts', { PORT: 'eighty', BULK_SIZE: '0' });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    expect(await exit).toBe(1);
    expect(stderr()).toMatch(/orders-sink: Invalid configuration:\n {2}- PORT: .*\(got "eighty"\)\n {2}- BULK_SIZE: .*\(got "0"\)/);
  });
});
