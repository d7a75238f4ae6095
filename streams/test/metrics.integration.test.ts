import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, type KeyValueStore, type StreamsMetricsSnapshot } from '../src/index.ts';
import { countingTopology } from './support/counting.ts';
import { consumeUntil, createTopics, deleteTestTopics, eventually, produce, testClients, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

const running: KafkaStreams[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});


const total = (snapshot: StreamsMetricsSnapshot, counter: 'processed' | 'deadLetters' | 'restored') => [...snapshot.taskCounters.values()].reduce((sum, counters) => sum + counters[counter], 0);

describe('KafkaStreams.metrics() on the real broker', () => {
  it('counts processed records, dead letters, commits and restores (none over a checkpointed store), and shows the lag going to 0', async () => {
    const clients = testClients();
    const input = unique('metrics-input');
    const output = unique('metrics-output');
    const applicationId = unique('metrics-app');
    await createTopics(clients, [{ name: input, partitions: 2 }, { name: output, partitions: 2 }]);
    const commitDurations: number[] = [];
    const restores: string[] = [];
    const stateDirectories: string[] = [];
    const start = async (stateDirectory?: string) => {
      stateDirectory ??= await mkdtemp(path.join(os.tmpdir(), 'metrics-'));
      stateDirectories.push(stateDirectory);
      const app = new KafkaStreams({
        applicationId,
        topology: countingTopology(input, output),
        clients,
        stateDirectory,
        rejectNullKeys: true,
        metrics: { commit: (seconds) => commitDurations.push(seconds), restore: (task) => restores.push(task) },
      });
      running.push(app);
      await app.start();
      await eventually(() => app.isReady, 'the app to be ready', 30_000);
      return app;
    };

    const first = await start();
    expect(Object.fromEntries(first.metrics().tasks)).toEqual({ '0_0': 'running', '0_1': 'running' });
    expect(first.metrics().rebalances).toBeGreaterThanOrEqual(1);
    const keys = Array.from({ length: 10 }, (_, index) => `key-${index}`);
    await produce(clients, input, [...Array.from({ length: 200 }, (_, index) => ({ key: keys[index % keys.length]!, value: 'x' })), { key: null, value: 'no key' }]);
    await consumeUntil(clients, output, (records) => records.length >= 200);

    await eventually(() => total(first.metrics(), 'processed') === 200 && total(first.metrics(), 'deadLetters') === 1, 'the counters to reach the records produced', 30_000);
    // Once everything is committed, no input partition lags (transaction markers included).
    await eventually(() => first.metrics().lag.length === 2 && first.metrics().lag.every((partition) => partition.lag === 0), 'the lag to reach 0', 30_000);
    const snapshot = first.metrics();
    expect(snapshot.state).toBe('running');
    expect(snapshot.commits).toBeGreaterThan(0);
    expect(snapshot.commitSeconds).toBeGreaterThan(0);
    expect(commitDurations.length).toBeGreaterThanOrEqual(snapshot.commits);
    expect(snapshot.lag.map(({ topic, partition }) => `${topic}-${partition}`).sort()).toEqual([`${input}-0`, `${input}-1`]);
    expect(snapshot.lag.every(({ position, endOffset }) => endOffset >= position && position > 0)).toBe(true);
    expect(restores.sort()).toEqual(['0_0', '0_1']);
    expect(total(snapshot, 'restored')).toBe(0);

    // A new instance on an empty state directory restores the counts from their changelog.
    await first.close();
    running.splice(0);
    const second = await start();
    expect(restores).toHaveLength(4);
    // At least the latest count of each key; older ones too, as long as the changelog is not compacted.
    expect(total(second.metrics(), 'restored')).toBeGreaterThanOrEqual(keys.length);
    expect(total(second.metrics(), 'restored')).toBeLessThanOrEqual(200);
    expect(total(second.metrics(), 'processed')).toBe(0);

    // Back on the first instance's state directory: its commits moved the stores' checkpoints
    // to the end of their changelogs, so there is nothing to restore.
    await second.close();
    running.splice(0);
    const third = await start(stateDirectories[0]);
    expect(restores).toHaveLength(6);
    expect(total(third.metrics(), 'restored')).toBe(0);
    for (const key of keys) expect(await third.localStore<KeyValueStore<string, number>>('counts', key)?.get(key)).toBe(20);
  });
});
