import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, kafkaConfig, loadConfig } from '@ecosystem/platform';
import { createTopics, RecordProducer } from 'kstreams';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { openTransactions } from './open-transactions.ts';

/** The diagnosis the failure tests print when orders stay hidden: it must name a transaction left open, and only while it is. */
const kafka = createKafka({ clientId: 'open-transactions-test', config: loadConfig(kafkaConfig), logger: createLogger('open-transactions-test', 'silent') });

afterAll(async () => {
  await kafka.close();
});

describe('openTransactions', () => {
  it('names the transaction open on a partition, with its transactional id, until it ends', async () => {
    const topic = `open-transactions-${randomUUID().slice(0, 8)}`;
    const transactionalId = `diagnosed-${randomUUID().slice(0, 8)}`;
    await createTopics(kafka.admin(), [{ name: topic, partitions: 2, compacted: false }]);
    const connections = kafka.connections('open-transactions-writer');
    try {
      const producer = new RecordProducer(connections, { transactionalId, logger: createLogger('writer', 'silent') });
      await producer.init();
      await producer.send([{ topic, partition: 1, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: Date.now() }]);

      const open = await openTransactions(kafka, [topic]);
      expect(open).toHaveLength(1);
      expect(open[0]).toMatch(new RegExp(`^${topic}-1: transaction of producer \\d+/\\d+ ${transactionalId} \\(Ongoing\\) open since offset 0, last write `));

      // EndTxn returns once the commit is decided; its markers reach the partition a moment later.
      await producer.commit();
      await eventually(async () => (await openTransactions(kafka, [topic])).length === 0, 'the commit marker on the partition', 10_000);
    } finally {
      await connections.close();
      await kafka.admin().deleteTopics({ topics: [topic] });
    }
  });
});
