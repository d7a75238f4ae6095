import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, readdir, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { localPaths } from '@ecosystem/infra';
import { allServices } from '../../scripts/services.ts';
import { isRunning, readSystemRecord, type SystemRecord } from '../../scripts/system-record.ts';
import { answerOf, ResponseValidator } from '../support/openapi.ts';

/**
 * The system the way the README runs it: `npm start` (with the populator), then requests as
 * a user would send them with curl, then Ctrl-C. Isolated from other tests by a topic
 * prefix; it uses the fixed ports of the README, so nothing else may listen on 8000-8107.
 */
const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const prefix = `whole-${Date.now().toString(36)}.`;
let system: ChildProcess | undefined;
const output: string[] = [];
const startedAt = new Date().toISOString();

afterEach(async () => {
  // Whatever happened, leave nothing running: a run left behind holds the README's ports the next test needs.
  for (const pid of [...(await processesOfThisRun()), ...(await processesOfThisRun(quietPrefix))]) process.kill(pid, 'SIGKILL');
});

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.join('').slice(-4_000)}\n${await serviceProblems()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const ordersApi = 'http://127.0.0.1:8000';
/** The orders API's own /openapi.json, fetched once: every answer of the API here must match it. */
let ordersContract: ResponseValidator | undefined;

const json = async <T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(40_000) });
  const answer = await answerOf(response);
  if (url.startsWith(`${ordersApi}/`)) {
    ordersContract ??= await ResponseValidator.fetch(ordersApi);
    const { pathname, search } = new URL(url);
    ordersContract.check({ method: init?.method ?? 'GET', target: `${pathname}${search}` }, answer);
  }
  return { status: response.status, body: JSON.parse(answer.body) as T };
};

/** Warnings and errors each service logged during this run (the supervisor keeps every service's log in .local/logs). */
async function serviceProblems(): Promise<string> {
  const logs = path.join(repository, '.local', 'logs');
  const lines: string[] = [];
  for (const file of (await readdir(logs).catch(() => [])).filter((name) => name.endsWith('-service.log') || /^(validation-aggregator|order-enrichment|customers-source|orders-sink)\.log$/.test(name))) {
    const problems = (await readFile(path.join(logs, file), 'utf8'))
      .split('\n')
      .filter((line) => /"level":"(warn|error|fatal)"/.test(line) && !line.includes('coordinator is loading'))
      .filter((line) => (/"time":"([^"]+)"/.exec(line)?.[1] ?? '') >= startedAt);
    lines.push(`--- ${file}: ${problems.length} problems, last ones:`, ...problems.slice(-6).map((line) => line.slice(0, 400)));
  }
  return lines.join('\n');
}

/** Processes of this run: their environment carries our topic prefix. */
async function processesOfThisRun(topicPrefix = prefix): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environment = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (environment.includes(`TOPIC_PREFIX=${topicPrefix}`)) found.push(Number(entry));
  }
  return found;
}

describe('npm start, as the README says', () => {
  it('brings every service up, validates and fails orders, flags fraud, mails and indexes, and stops cleanly', async () => {
    const outbox = await mkdtemp(path.join(os.tmpdir(), 'whole-outbox-'));
    system = spawn('npm', ['start', '--', '--rate', '5'], {
      cwd: repository,
      env: { ...process.env, TOPIC_PREFIX: prefix, OUTBOX_DIR: outbox, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that Ctrl-C can be sent the way a terminal sends it: to the whole group.
      detached: true,
    });
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 400) output.shift();
    };
    system.stdout!.on('data', keep);
    system.stderr!.on('data', keep);

    await eventually(async () => ((await fetch('http://127.0.0.1:8000/ready')).ok ? true : undefined), 150_000, 'the orders service');

    // A user's orders, with curl-like calls: one with stock, one that breaks the order-details rules.
    const good = await json<{ id: string }>('http://127.0.0.1:8000/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customerId: 5, product: 'JUMPERS', quantity: 1, price: 3 }) });
    expect(good.status).toBe(201);
    const bad = await json<{ id: string }>('http://127.0.0.1:8000/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customerId: 6, product: 'JUMPERS', quantity: -1, price: 3 }) });
    expect(bad.status).toBe(201);
    // The populator puts stock first; the first order may have raced it, so judge orders placed after stock exists.
    expect((await json<{ state: string }>(`http://127.0.0.1:8000/v1/orders/${bad.body.id}/validated?timeout=30000`)).body.state).toBe('FAILED');
    const validated = await eventually(async () => {
      const order = await json<{ id: string }>('http://127.0.0.1:8000/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customerId: 7, product: 'UNDERPANTS', quantity: 1, price: 2 }) });
      const final = await json<{ state: string }>(`http://127.0.0.1:8000/v1/orders/${order.body.id}/validated?timeout=30000`);
      return final.body.state === 'VALIDATED' ? order.body.id : undefined;
    }, 90_000, 'a VALIDATED order');
    expect(validated).toBeTruthy();

    // The populator's load makes customers place more than two orders in 30 s.
    const fraud = await eventually(async () => {
      const rows = (await json<unknown[]>('http://127.0.0.1:8010/fraud?limit=10')).body;
      return rows.length > 0 ? rows : undefined;
    }, 90_000, 'fraud flags');
    expect(fraud.length).toBeGreaterThan(0);
    const emails = await eventually(async () => {
      const files = (await readdir(outbox)).filter((file) => file.endsWith('.eml'));
      return files.length > 0 ? files : undefined;
    }, 90_000, 'emails in the outbox');
    expect(emails.length).toBeGreaterThan(0);
    const documents = await eventually(async () => {
      const count = (await json<{ count: number }>(`http://127.0.0.1:9200/${prefix}orders.v1/_count`)).body.count;
      return count > 0 ? count : undefined;
    }, 90_000, 'documents in Elasticsearch');
    expect(documents).toBeGreaterThan(0);
    expect(await processesOfThisRun()).not.toHaveLength(0);

    // read-topics shows every topic of the running system, decoded.
    const printed = await new Promise<string>((resolve, reject) => {
      const reader = spawn('npm', ['run', '-s', 'read-topics', '--', '--last', '2', '--json'], { cwd: repository, env: { ...process.env, TOPIC_PREFIX: prefix } });
      let text = '';
      reader.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      reader.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`read-topics exited with ${code}`))));
    });
    const records = printed.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { topic?: string; key?: unknown; value?: unknown; view?: string; rows?: unknown[] });
    for (const topic of ['orders.v1', 'order-validations.v1', 'warehouse-inventory.v1', 'payments.v1', 'customers', 'orders-enriched.v1']) {
      const record = records.find((candidate) => candidate.topic === `${prefix}${topic}`);
      expect(record, topic).toBeDefined();
      expect(typeof record!.value, topic).not.toBe('string');
    }
    expect(records.find((record) => record.topic === `${prefix}customers`)!.key).toEqual(expect.any(Number));
    expect(records.find((record) => record.view === 'fraud')!.rows).not.toHaveLength(0);

    // Ctrl-C.
    const exited = new Promise<number | null>((resolve) => system!.once('exit', (code) => resolve(code)));
    process.kill(-system.pid!, 'SIGINT');
    await exited;
    await eventually(async () => ((await processesOfThisRun()).length === 0 ? true : undefined), 60_000, 'every process of the run to exit');
  }, 400_000);
});

const quietPrefix = `quiet-${Date.now().toString(36)}.`;

/** `npm run status` / `npm run stop`, as a user runs them from another terminal. */
function npmRun(script: 'status' | 'stop'): Promise<string> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', script], { cwd: repository, timeout: 180_000 }, (_error, stdout, stderr) => resolve(stdout + stderr));
  });
}

/** The lines appended to a file after `offset`. */
async function linesAfter(file: string, offset: number): Promise<string[]> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const size = (await handle.stat()).size;
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    await handle.read(buffer, 0, buffer.length, offset);
    return buffer.toString('utf8').split('\n').filter((line) => line.trim());
  } finally {
    await handle.close();
  }
}

describe('npm start, left alone for a minute and then killed', () => {
  it('logs no ERROR line in its first minute; kill -9 of it leaves no service running; status and stop agree', async () => {
    const outbox = await mkdtemp(path.join(os.tmpdir(), 'quiet-outbox-'));
    // Only what this run appends to each log counts (the logs grow across runs).
    const names = [...allServices.map((service) => service.name), 'populator'];
    const logs = names.map((name) => path.join(localPaths.logs, `${name}.log`));
    const offsets = await Promise.all(logs.map((file) => stat(file).then((info) => info.size, () => 0)));
    const run = spawn('npm', ['start'], { cwd: repository, env: { ...process.env, TOPIC_PREFIX: quietPrefix, OUTBOX_DIR: outbox }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const printed: string[] = [];
    run.stdout!.on('data', (chunk: Buffer) => printed.push(chunk.toString()));
    run.stderr!.on('data', (chunk: Buffer) => printed.push(chunk.toString()));
    const record = await eventually(async () => {
      const current = readSystemRecord();
      return current && current.processes.length === allServices.length ? current : undefined;
    }, 120_000, 'npm start to start every service');
    await eventually(async () => ((await fetch('http://127.0.0.1:8000/ready')).ok ? true : undefined), 150_000, 'the orders service');

    // Its first minute, the populator at its default rate.
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    const problems: string[] = [];
    for (const [index, file] of logs.entries()) {
      for (const line of await linesAfter(file, offsets[index]!)) {
        if (/"level":"(error|fatal)"/.test(line) || (!line.startsWith('{') && /\berror\b/i.test(line))) problems.push(`${names[index]}: ${line.slice(0, 300)}`);
      }
    }
    // Soft: the supervisor part below runs (and is judged) whatever the logs said.
    expect.soft(problems, `ERROR lines in the first minute of npm start:\n${problems.slice(0, 20).join('\n')}`).toEqual([]);
    expect(await npmRun('status')).toContain(`npm start is running (pid ${record.supervisor.pid}`);

    // kill -9 of the supervisor: its services stop by themselves within seconds.
    const current = readSystemRecord() as SystemRecord;
    const killed = Date.now();
    process.kill(current.supervisor.pid, 'SIGKILL');
    await eventually(async () => (current.processes.some(isRunning) ? undefined : true), 15_000, `the services to stop without their supervisor (${current.processes.filter(isRunning).map((left) => left.name).join(', ')})`);
    console.log(`every service had stopped ${((Date.now() - killed) / 1000).toFixed(1)} s after kill -9 of npm start`);
    expect(await processesOfThisRun(quietPrefix)).toEqual([]);

    const status = await npmRun('status');
    expect(status).toContain(`npm start (pid ${current.supervisor.pid}, started ${current.startedAt}) is not running: it ended without stopping. Nothing of it is left running`);
    for (const service of allServices) expect(status).toMatch(new RegExp(`${service.name} +down`));
    const stop = await npmRun('stop');
    expect(stop).toContain(`npm start (pid ${current.supervisor.pid}, started ${current.startedAt}) is gone; stopping what it left.`);
    expect(stop).toContain('stopped.');
    expect(await npmRun('status')).toContain('npm start is not running');
    run.kill('SIGKILL');
  }, 400_000);
});
