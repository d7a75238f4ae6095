import { afterAll, describe, expect, it } from 'vitest';
import { consumeUntil, createTopics, deleteTestTopics, testClients, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

describe('the client factory', () => {
  it('gives producers whose concurrent sends are all written (the client itself would number them alike and lose all but one)', async () => {
    const clients = testClients('concurrent-sends');
    const topic = unique('concurrent-sends');
    await createTopics(clients, [{ name: topic, partitions: 2 }]);
    const producer = clients.producer();
    try {
      await Promise.all(Array.from({ length: 20 }, (_, index) => producer.send({ messages: [{ topic, key: Buffer.from(`key-${index}`), value: Buffer.from(String(index)) }] })));
    } finally {
      await producer.close();
    }
    const records = await consumeUntil(clients, topic, (seen) => seen.length >= 20, 30_000);
    expect(records.map((record) => Number(record.value!.toString())).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });
});
