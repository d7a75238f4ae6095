import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { RecordProducer } from '../src/kafka/record-producer.ts';
import { StateManager } from '../src/engine/state-manager.ts';
import { KafkaStreams, type KeyValueStore } from '../src/index.ts';
import { countingTopology } from './support/counting.ts';
import { consumeUntil, createTopics, deleteTestTopics, eventually, produce, testClients, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

const running: KafkaStreams[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

describe('KafkaStreams on the real broker', () => {
  it('counts per key exactly once and serves the counts from its store', async () => {
    const clients = testClients();
    const input = unique('input');
    const output = unique('output');
    await createTopics(clients, [{ name: input, partitions: 3 }, { name: output, partitions: 3 }]);
    const app = new KafkaStreams({ applicationId: unique('count-app'), topology: countingTopology(input, output), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'streams-')), endpoint: 'localhost:1' });
    running.push(app);
    await app.start();
    await eventually(() => app.isReady, 'the app to be ready', 30_000);

    const keys = Array.from({ length: 20 }, (_, index) => `key-${index}`);
    await produce(clients, input, Array.from({ length: 400 }, (_, index) => ({ key: keys[index % keys.length]!, value: 'x' })));

    const records = await consumeUntil(clients, output, (seen) => seen.length >= 400);
    const latest = new Map<string, number>();
    for (const { key, value } of records) latest.set(key!.toString(), Number(value!.toString()));
    expect(records).toHaveLength(400);
    expect([...latest.values()].every((count) => count === 20)).toBe(true);

    for (const key of keys) {
      expect(app.ownerOf('counts', key)).toEqual({ status: 'local' });
      expect(await app.localStore<KeyValueStore<string, number>>('counts', key)!.get(key)).toBe(20);
    }
  });

  it('stops a restore under way when it closes, instead of reading the changelog to its end first', async () => {
    const clients = testClients();
    const input = unique('input');
    const output = unique('output');
    const applicationId = unique('restore-app');
    const changelogRecords = 200_000;
    await createTopics(clients, [{ name: input, partitions: 1 }, { name: output, partitions: 1 }, { name: `${applicationId}-counts-changelog`, partitions: 1, compacted: true }]);
    // About 40 MB of changelog: many fetches and store writes, so the restore takes a while.
    const padding = 'x'.repeat(200);
    await produce(clients, `${applicationId}-counts-changelog`, Array.from({ length: changelogRecords }, (_, index) => ({ key: `key-${index}`, value: padding })));

    const app = new KafkaStreams({ applicationId, topology: countingTopology(input, output), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'streams-')) });
    running.push(app);
    await app.start();
    const restored = () => app.metrics().taskCounters.get('0_0')?.restored ?? 0;
    await eventually(() => restored() > 0, 'the restore to begin', 30_000);
    await app.close();
    running.splice(0);
    expect(app.metrics().tasks.size).toBe(0);
    expect(restored()).toBeGreaterThan(0);
    expect(restored()).toBeLessThan(changelogRecords);
  });

  it('refuses a second instance on the state folder of a running one, which keeps its state and keeps working', async () => {
    const clients = testClients();
    const input = unique('input');
    const output = unique('output');
    await createTopics(clients, [{ name: input, partitions: 1 }, { name: output, partitions: 1 }]);
    const applicationId = unique('shared-folder-app');
    const stateDirectory = await mkdtemp(path.join(os.tmpdir(), 'streams-'));
    const first = new KafkaStreams({ applicationId, topology: countingTopology(input, output), clients, stateDirectory });
    running.push(first);
    await first.start();
    await eventually(() => first.isReady, 'the first instance to be ready', 30_000);
    await produce(clients, input, [{ key: 'k', value: 'x' }]);
    await consumeUntil(clients, output, (seen) => seen.length >= 1);

    const second = new KafkaStreams({ applicationId, topology: countingTopology(input, output), clients, stateDirectory });
    await expect(second.start()).rejects.toThrow(`is in use by process ${process.pid}`);
    await second.close();

    // The first one's database was not wiped: its count goes on from 1.
    await produce(clients, input, [{ key: 'k', value: 'x' }]);
    const records = await consumeUntil(clients, output, (seen) => seen.length >= 2);
    expect(records.map((record) => record.value!.toString())).toEqual(['1', '2']);
  });

  it('starts its tasks over from the broker when the stores cannot take a committed transaction\'s changes: nothing is counted twice', async () => {
    const clients = testClients();
    const input = unique('input');
    const output = unique('output');
    await createTopics(clients, [{ name: input, partitions: 1 }, { name: output, partitions: 1 }]);
    const app = new KafkaStreams({ applicationId: unique('disk-full-app'), topology: countingTopology(input, output), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'streams-')) });
    running.push(app);
    await app.start();
    await eventually(() => app.isReady, 'the app to be ready', 30_000);
    await produce(clients, input, [{ key: 'k', value: 'x' }]);
    await consumeUntil(clients, output, (seen) => seen.length >= 1);

    // The next commit's write to LevelDB fails once, after the transaction committed.
    const flush = vi.spyOn(StateManager.prototype, 'flush');
    flush.mockImplementationOnce(async function (this: StateManager, checkpoints) {
      if (checkpoints.size === 0) return StateManager.prototype.flush.call(this, checkpoints);
      throw new Error('no space left on device');
    });
    try {
      await produce(clients, input, [{ key: 'k', value: 'x' }]);
      await consumeUntil(clients, output, (seen) => seen.length >= 2);
      await produce(clients, input, [{ key: 'k', value: 'x' }]);
      const records = await consumeUntil(clients, output, (seen) => seen.length >= 3);
      expect(records.map((record) => record.value!.toString())).toEqual(['1', '2', '3']);
    } finally {
      flush.mockRestore();
    }
  });

  it('starts its tasks over from the broker when a commit fails after the broker took it (the answer lost): nothing is counted twice', async () => {
    const clients = testClients();
    const input = unique('input');
    const output = unique('output');
    await createTopics(clients, [{ name: input, partitions: 1 }, { name: output, partitions: 1 }]);
    const app = new KafkaStreams({ applicationId: unique('lost-answer-app'), topology: countingTopology(input, output), clients, stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'streams-')) });
    running.push(app);
    await app.start();
    await eventually(() => app.isReady, 'the app to be ready', 30_000);
    await produce(clients, input, [{ key: 'k', value: 'x' }]);
    await consumeUntil(clients, output, (seen) => seen.length >= 1);

    // The next transaction commits at the broker, but its EndTxn answer never arrives (the
    // broker was killed right after writing the commit).
    const commit = vi.spyOn(RecordProducer.prototype, 'commit');
    commit.mockImplementationOnce(async function (this: RecordProducer) {
      await RecordProducer.prototype.commit.call(this);
      throw Object.assign(new Error('connection closed'), { code: 'PLT_KFK_NETWORK' });
    });
    try {
      await produce(clients, input, [{ key: 'k', value: 'x' }]);
      await eventually(() => (commit.mock.calls.length > 1 ? true : undefined), 'a commit after the lost answer', 30_000);
      await produce(clients, input, [{ key: 'k', value: 'x' }]);
      const records = await consumeUntil(clients, output, (seen) => seen.length >= 3);
      expect(records.map((record) => record.value!.toString())).toEqual(['1', '2', '3']);
    } finally {
      commit.mockRestore();
    }
  });
});
