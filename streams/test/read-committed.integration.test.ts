import { afterAll, describe, expect, it } from 'vitest';
import { settledEndOffsets } from '../src/kafka/admin.ts';
import { consumeUntil, createTopics, deleteTestTopics, testClients, unique } from './support/cluster.ts';

afterAll(() => deleteTestTopics(), 60_000);

/**
 * Tasks read their inputs read_committed, and the fetcher drops records of aborted transactions
 * (decodeBatches). @platformatic/kafka's consumer keeps one aborted range per producer id, so a
 * producer that aborts several transactions within one fetch leaks all but the last of them
 * (the runtime's one producer per instance aborts many over its life): the runtime's fetcher
 * applies the Java consumer's rule instead.
 */
describe('reading committed records', () => {
  it('skips every aborted transaction of a producer and keeps its committed ones', async () => {
    const clients = testClients('read-committed');
    const topic = unique('read-committed');
    await createTopics(clients, [{ name: topic, partitions: 1 }]);
    const producer = clients.producer({ transactionalId: unique('read-committed-producer') });
    try {
      const outcomes = ['abort', 'commit', 'abort', 'abort', 'commit', 'abort', 'commit'] as const;
      for (const [index, outcome] of outcomes.entries()) {
        const transaction = await producer.beginTransaction();
        await transaction.send({ messages: [1, 2, 3].map((n) => ({ topic, key: Buffer.from(`t${index}-${n}`), value: Buffer.from(outcome) })) });
        if (outcome === 'commit') await transaction.commit();
        else await transaction.abort();
      }
    } finally {
      await producer.close();
    }
    // Every transaction (and its marker) is in one partition: one fetch sees all of them.
    const records = await consumeUntil(clients, topic, (seen) => seen.length >= 9, 30_000);
    expect(records.map((record) => record.key!.toString())).toEqual(['t1-1', 't1-2', 't1-3', 't4-1', 't4-2', 't4-3', 't6-1', 't6-2', 't6-3']);
    expect(records.every((record) => record.value!.toString() === 'commit')).toBe(true);
  });

  it("waits for a changelog's open transaction to end before giving its end (settledEndOffsets)", async () => {
    const clients = testClients('settled-ends');
    const topic = unique('settled-ends');
    await createTopics(clients, [{ name: topic, partitions: 2 }]);
    const partitions = new Map([[topic, [0, 1]]]);
    const producer = clients.producer({ transactionalId: unique('settled-ends-producer') });
    try {
      const transaction = await producer.beginTransaction();
      await transaction.send({ messages: [{ topic, partition: 1, key: Buffer.from('k'), value: Buffer.from('v') }] });
      // Still open: after the time allowed, the last stable offsets as they are, naming the partition.
      const open = await settledEndOffsets(clients.admin(), partitions, 300);
      expect(open.unsettled).toEqual([`${topic}-1`]);
      expect(open.ends.get(topic)).toEqual(new Map([[0, 0], [1, 0]]));
      // Committed while it waits: the end past the record and its marker.
      const settling = settledEndOffsets(clients.admin(), partitions, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await transaction.commit();
      const settled = await settling;
      expect(settled.unsettled).toEqual([]);
      expect(settled.ends.get(topic)).toEqual(new Map([[0, 0], [1, 2]]));
    } finally {
      await producer.close();
    }
  });
});
