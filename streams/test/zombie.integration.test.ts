import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Fetcher, type FetchedRecord } from '../src/index.ts';
import { consumeUntil, createTopics, deleteTestTopics, eventually, produce, testClients, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

const here = path.dirname(fileURLToPath(import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null) continue;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

interface Instance {
  child: ChildProcess;
  stderr: string[];
}

function startInstance(environment: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', path.join(here, 'support', 'count-app.ts')], { env: { ...process.env, ...environment }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve({ child, stderr });
    });
    child.on('exit', (code) => reject(new Error(`count app exited with ${code} before it was ready: ${stderr.join('').slice(-2_000)}`)));
  });
}

/** Every record of the topic, committed or not (what a read_uncommitted consumer sees). */
async function readUncommitted(topic: string, partitions: number, done: (records: FetchedRecord[]) => boolean): Promise<FetchedRecord[]> {
  const records: FetchedRecord[] = [];
  const connections = testClients('uncommitted').connections(unique('uncommitted'));
  const fetcher = new Fetcher({ connections, role: 'fetch', readCommitted: false, logger: { debug() {}, info() {}, warn() {}, error() {} }, onFetched: (fetched) => records.push(...fetched.records) });
  try {
    for (let partition = 0; partition < partitions; partition += 1) fetcher.assign(topic, partition, 0);
    await eventually(() => done(records), `records on ${topic}, uncommitted included`, 60_000);
  } finally {
    fetcher.close();
    await connections.close();
  }
  return records;
}

const keys = Array.from({ length: 30 }, (_, index) => `key-${index}`);
const load = (perKey: number) => Array.from({ length: keys.length * perKey }, (_, index) => ({ key: keys[index % keys.length]!, value: 'x' }));

describe('an instance paused past its session timeout (a zombie)', () => {
  it('never makes its uncommitted work visible once its tasks moved: nothing lost, nothing twice', async () => {
    const clients = testClients('zombie');
    const input = unique('zombie-input');
    const output = unique('zombie-output');
    await createTopics(clients, [{ name: input, partitions: 3 }, { name: output, partitions: 3 }]);
    const common = { INPUT_TOPIC: input, OUTPUT_TOPIC: output, APPLICATION_ID: unique('zombie-app'), GUARANTEE: 'exactly-once' };
    // The zombie-to-be commits rarely (its next commit is due while it is paused) and its
    // transactions outlive the pause, so when it wakes up it holds a transaction full of outputs
    // and tries to commit it for a generation that has ended. Exactly-once, outputs wait for the
    // commit unless a batch's worth (500) piles up: the first load is bigger than that.
    const zombie = await startInstance({ ...common, STATE_DIRECTORY: await mkdtemp(path.join(os.tmpdir(), 'zombie-a-')), COMMIT_INTERVAL_MS: '60000', TRANSACTION_TIMEOUT_MS: '60000' });

    await produce(clients, input, load(20));
    const uncommitted = await readUncommitted(output, 3, (records) => records.length >= 500);
    expect(uncommitted.length).toBeGreaterThanOrEqual(500);
    zombie.child.kill('SIGSTOP');

    // Another instance takes the tasks over once the paused one misses its session timeout.
    const successor = await startInstance({ ...common, STATE_DIRECTORY: await mkdtemp(path.join(os.tmpdir(), 'zombie-b-')) });
    await produce(clients, input, load(10));
    // Its outputs are there, behind the zombie's open transaction (read_committed readers wait for it).
    await readUncommitted(output, 3, (records) => records.length >= uncommitted.length + keys.length * 30);
    zombie.child.kill('SIGCONT');

    const perKey = 30;
    const committed = await consumeUntil(clients, output, (records) => records.length >= keys.length * perKey, 90_000);
    await produce(clients, input, load(1));
    const final = await consumeUntil(clients, output, (records) => records.length >= keys.length * (perKey + 1), 90_000);
    // One committed output per input record: 1..21 for every key, each once.
    const byKey = new Map<string, number[]>();
    for (const record of final) byKey.set(record.key!.toString(), [...(byKey.get(record.key!.toString()) ?? []), Number(record.value!.toString())]);
    expect(final).toHaveLength(keys.length * (perKey + 1));
    for (const key of keys) expect(byKey.get(key)!.sort((a, b) => a - b), key).toEqual(Array.from({ length: perKey + 1 }, (_, index) => index + 1));
    expect(committed.length).toBeGreaterThanOrEqual(keys.length * perKey);
    // The zombie found out it had been fenced, and dropped its work.
    const zombieLog = zombie.stderr.join('');
    if (process.env.SHOW_ZOMBIE_LOG) console.log(zombieLog);
    expect(zombieLog).toMatch(/aborting uncommitted work|tasks may have run elsewhere/);
    successor.child.kill('SIGTERM');
    zombie.child.kill('SIGTERM');
  }, 240_000);
});
