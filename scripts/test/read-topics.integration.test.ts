import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTestTopics, testClients, unique } from '../../streams/test/support/cluster.ts';

/**
 * `npm run read-topics` on a topic written in transactions, as the services write theirs: every
 * transaction ends with a marker that takes an offset, and aborted records take offsets too, so
 * the last N offsets of a partition can hold fewer than N records, or none.
 */
const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

afterAll(() => deleteTestTopics(), 60_000);

function readTopics(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', path.join(repository, 'scripts', 'read-topics.ts'), ...args], { cwd: repository, timeout: 60_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`read-topics failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

describe('read-topics', () => {
  it('prints the newest committed records even when markers and an aborted transaction end the partition', async () => {
    const clients = testClients('read-topics');
    const topic = unique('read-topics');
    await createTopics(clients, [{ name: topic, partitions: 1 }]);
    const producer = clients.producer({ transactionalId: unique('read-topics-producer') });
    try {
      // Offsets: one, marker, two, marker, three, marker; then three aborted records and their marker.
      for (const value of ['one', 'two', 'three']) {
        const transaction = await producer.beginTransaction();
        await transaction.send({ messages: [{ topic, key: Buffer.from(value), value: Buffer.from(value) }] });
        await transaction.commit();
      }
      const aborted = await producer.beginTransaction();
      await aborted.send({ messages: ['x', 'y', 'z'].map((value) => ({ topic, key: Buffer.from(value), value: Buffer.from(value) })) });
      await aborted.abort();
    } finally {
      await producer.close();
      await clients.close();
    }

    const printed = await readTopics(['--topics', topic, '--last', '2', '--json']);
    const records = printed
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { topic?: string; value?: unknown })
      .filter((record) => record.topic === topic);
    expect(records.map((record) => record.value)).toEqual(['two', 'three']);
  });
});
