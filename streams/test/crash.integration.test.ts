import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ProcessingGuarantee } from '../src/index.ts';
import { consumeUntil, createTopics, deleteTestTopics, produce, testClients, type ConsumedRecord, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

const here = path.dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function startApp(environment: Record<string, string>): Promise<ChildProcess> {
  // node itself with tsx as a loader: one process, so SIGKILL hits the application (the tsx CLI would fork).
  const child = spawn(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', path.join(here, 'support', 'count-app.ts')], { env: { ...process.env, ...environment }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`count app exited with ${code} before it was ready: ${errors.slice(-2_000)}`)));
  });
}

const keys = Array.from({ length: 30 }, (_, index) => `key-${index}`);
const perKey = 400;
const total = keys.length * perKey;

/** Produces the load in steady chunks while the application runs (so the kill lands mid-load). */
async function produceLoad(clients: ReturnType<typeof testClients>, topic: string): Promise<void> {
  const chunk = 300;
  for (let sent = 0; sent < total; sent += chunk) {
    await produce(clients, topic, Array.from({ length: chunk }, (_, index) => ({ key: keys[(sent + index) % keys.length]!, value: 'x' })));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function latestCounts(records: ConsumedRecord[]): Map<string, number> {
  const latest = new Map<string, number>();
  for (const { key, value } of records) latest.set(key!.toString(), Math.max(latest.get(key!.toString()) ?? 0, Number(value!.toString())));
  return latest;
}

async function crashAndRecover(guarantee: ProcessingGuarantee, commitIntervalMs: number) {
  const clients = testClients();
  const input = unique('crash-input');
  const output = unique('crash-output');
  await createTopics(clients, [{ name: input, partitions: 3 }, { name: output, partitions: 3 }]);
  const environment = {
    INPUT_TOPIC: input,
    OUTPUT_TOPIC: output,
    APPLICATION_ID: unique(`crash-${guarantee}`),
    STATE_DIRECTORY: await mkdtemp(path.join(os.tmpdir(), 'crash-state-')),
    GUARANTEE: guarantee,
    COMMIT_INTERVAL_MS: String(commitIntervalMs),
  };
  const first = await startApp(environment);
  const load = produceLoad(clients, input);
  await consumeUntil(clients, output, (records) => records.length >= total / 3, 120_000);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const second = await startApp(environment);
  await load;
  // Done when every key reached its count; under at-least-once some overshoot.
  await consumeUntil(clients, output, (seen) => {
    const counts = latestCounts(seen);
    return keys.every((key) => (counts.get(key) ?? 0) >= perKey);
  }, 180_000);
  // Stopped first, then the output read to its end: a duplicate written late is counted too.
  second.kill('SIGTERM');
  await new Promise((resolve) => second.once('exit', resolve));
  const records = await consumeUntil(clients, output, () => true, 60_000);
  return { records, counts: latestCounts(records) };
}

describe('a counting application killed with SIGKILL mid-load and restarted', () => {
  it('counts exactly under exactly-once: no record lost, none counted twice', async () => {
    const { records, counts } = await crashAndRecover('exactly-once', 100);
    expect([...counts.values()]).toEqual(keys.map(() => perKey));
    // One committed output per input record: the outputs of the crashed transactions were aborted.
    expect(records).toHaveLength(total);
  }, 300_000);

  it('repeats outputs under at-least-once: records processed after the last commit are processed again', async () => {
    // Outputs go out as records are processed; offsets and store changes only every 3 s. The
    // records processed since the last commit are processed again after the crash, from the
    // store as it was at that commit: their outputs appear twice, the final counts are right.
    const { records, counts } = await crashAndRecover('at-least-once', 3_000);
    expect([...counts.values()]).toEqual(keys.map(() => perKey));
    expect(records.length).toBeGreaterThan(total);
  }, 300_000);
});
