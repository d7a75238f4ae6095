import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KafkaStreams, type KeyValueStore } from '../src/index.ts';
import { countingTopology } from './support/counting.ts';
import { consumeUntil, createTopics, deleteTestTopics, eventually, produce, testClients, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

const running: KafkaStreams[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

async function countingApp(applicationId: string, input: string, output: string, endpoint: string): Promise<KafkaStreams> {
  const app = new KafkaStreams({ applicationId, topology: countingTopology(input, output), clients: testClients(endpoint), stateDirectory: await mkdtemp(path.join(os.tmpdir(), 'scale-')), endpoint, sessionTimeoutMs: 6_000 });
  running.push(app);
  await app.start();
  return app;
}

describe('two instances of one application', () => {
  it('split the partitions, agree on every key owner, and hand over state when one stops', async () => {
    const clients = testClients();
    const input = unique('scale-input');
    const output = unique('scale-output');
    const applicationId = unique('scale-app');
    await createTopics(clients, [{ name: input, partitions: 3 }, { name: output, partitions: 3 }]);
    const keys = Array.from({ length: 60 }, (_, index) => `customer-${index}`);

    const first = await countingApp(applicationId, input, output, 'first:8000');
    const second = await countingApp(applicationId, input, output, 'second:8000');
    await eventually(() => first.isReady && second.isReady && first.assignedTasks.length + second.assignedTasks.length === 3, 'both instances running with all three tasks', 60_000);
    expect(first.assignedTasks.length).toBeGreaterThan(0);
    expect(second.assignedTasks.length).toBeGreaterThan(0);
    expect(new Set([...first.assignedTasks, ...second.assignedTasks])).toEqual(new Set(['0_0', '0_1', '0_2']));

    await produce(clients, input, keys.flatMap((key, index) => Array.from({ length: (index % 5) + 1 }, () => ({ key, value: 'x' }))));
    const expectedTotal = keys.reduce((sum, _key, index) => sum + (index % 5) + 1, 0);
    await consumeUntil(clients, output, (records) => records.length >= expectedTotal);

    const owners = new Map<string, string>();
    for (const key of keys) {
      const fromFirst = first.ownerOf('counts', key);
      const fromSecond = second.ownerOf('counts', key);
      // Exactly one of them is the local owner, and the other names that owner's endpoint.
      const owner = fromFirst.status === 'local' ? 'first:8000' : fromSecond.status === 'local' ? 'second:8000' : undefined;
      expect(owner).toBeDefined();
      expect(owner === 'first:8000' ? fromSecond : fromFirst).toEqual({ status: 'available', endpoint: owner });
      owners.set(key, owner!);
      const app = owner === 'first:8000' ? first : second;
      expect(await app.localStore<KeyValueStore<string, number>>('counts', key)!.get(key)).toBe((keys.indexOf(key) % 5) + 1);
    }
    expect(new Set(owners.values())).toEqual(new Set(['first:8000', 'second:8000']));

    // The second instance leaves: the first takes over its tasks, restores them from the changelog and serves them.
    await second.close();
    await eventually(() => first.isReady && first.assignedTasks.length === 3, 'the first instance to own all tasks', 60_000);
    for (const key of keys) {
      expect(first.ownerOf('counts', key)).toEqual({ status: 'local' });
      expect(await first.localStore<KeyValueStore<string, number>>('counts', key)!.get(key)).toBe((keys.indexOf(key) % 5) + 1);
    }
  });
});
