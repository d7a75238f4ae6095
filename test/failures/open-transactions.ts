import { describeProducersV0, listTransactionsV0 } from '@platformatic/kafka';
import type { KafkaClients } from 'kstreams';

/**
 * For the message of a failure test that waited in vain: the transactions open on the
 * partitions of `topics`, as their leaders see them (DescribeProducers), named by their
 * transactional ids where a coordinator among those leaders knows them (ListTransactions).
 * A read_committed reader sees nothing past the first record of an open transaction, so an
 * order that is "not on the topic" or lacks its final state is often behind one; one that stays
 * open longer than the transaction timeout means the cluster or a client lost track of it.
 */
export async function openTransactions(kafka: KafkaClients, topics: readonly string[]): Promise<string[]> {
  const connections = kafka.connections('diagnosis');
  try {
    const open: Array<{ at: string; producerId: bigint; epoch: number; since: bigint; lastWrite: bigint }> = [];
    const leaders = new Set<number>();
    for (const topic of topics) {
      const count = await connections.partitionCount(topic);
      for (let partition = 0; partition < count; partition += 1) {
        const { leader } = await connections.leaderOf(topic, partition);
        leaders.add(leader);
        const answer = await connections.request('admin', leader, describeProducersV0.api, [{ name: topic, partitionIndexes: [partition] }]);
        for (const producer of answer.topics[0]?.partitions[0]?.activeProducers ?? []) {
          if (producer.currentTxnStartOffset >= 0n) open.push({ at: `${topic}-${partition}`, producerId: producer.producerId, epoch: producer.producerEpoch, since: producer.currentTxnStartOffset, lastWrite: producer.lastTimestamp });
        }
      }
    }
    const names = new Map<bigint, string>();
    for (const node of leaders) {
      const answer = await connections.request('admin', node, listTransactionsV0.api, [], [], -1n, null).catch(() => undefined);
      for (const state of answer?.transactionStates ?? []) names.set(state.producerId, `${state.transactionalId} (${state.transactionState})`);
    }
    return open.map(({ at, producerId, epoch, since, lastWrite }) => `${at}: transaction of producer ${producerId}/${epoch} ${names.get(producerId) ?? '(transactional id not found)'} open since offset ${since}, last write ${new Date(Number(lastWrite)).toISOString()}`);
  } catch (error) {
    return [`could not describe the open transactions: ${String(error)}`];
  } finally {
    await connections.close();
  }
}
