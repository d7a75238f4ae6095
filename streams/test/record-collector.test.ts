/**
 * The record collector on a recording producer: when records leave, in what order and
 * batches, what a commit sends, and how a failed send or a fenced producer is recovered. The
 * broker tests (engine, zombie, crash) cover the same paths end to end; these pin the rules.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerConnections } from '../src/kafka/broker-connections.ts';
import { partitionKey } from '../src/kafka/partition-key.ts';
import type { PartitionWrite, ProducerRecord, TransactionOffsets } from '../src/kafka/record-producer.ts';
import { silentLogger } from '../src/engine/logger.ts';
import { ProducerFailure, RecordCollector, type CollectorProducer, type ProcessingGuarantee } from '../src/engine/record-collector.ts';
import type { OutgoingRecord } from '../src/record.ts';

const generation = { groupId: 'app', generationId: 7, memberId: 'member-1' };
const offsets = [{ topic: 'orders', partition: 0, offset: 42 }];

class RecordingProducer implements CollectorProducer {
  readonly calls: string[] = [];
  readonly batches: ProducerRecord[][] = [];
  readonly offsetCommits: TransactionOffsets[] = [];
  hasOpenTransaction = false;
  failNextSend: Error | undefined;
  fenceNextAbort = false;
  private nextOffset = 100;

  async init(): Promise<void> {
    this.calls.push('init');
  }

  async send(records: readonly ProducerRecord[]): Promise<PartitionWrite[]> {
    this.calls.push(`send ${records.length}`);
    const failure = this.failNextSend;
    this.failNextSend = undefined;
    if (failure) throw failure;
    this.batches.push([...records]);
    this.hasOpenTransaction = true;
    const counts = new Map<string, { topic: string; partition: number; count: number }>();
    for (const record of records) {
      const partition = record.partition ?? 0;
      const entry = counts.get(`${record.topic}/${partition}`) ?? { topic: record.topic, partition, count: 0 };
      entry.count += 1;
      counts.set(`${record.topic}/${partition}`, entry);
    }
    return [...counts.values()].map((entry) => {
      const write = { ...entry, baseOffset: this.nextOffset };
      this.nextOffset += entry.count;
      return write;
    });
  }

  async sendOffsets(transactionOffsets: TransactionOffsets): Promise<void> {
    this.calls.push('sendOffsets');
    this.offsetCommits.push(transactionOffsets);
  }

  async commit(): Promise<void> {
    this.calls.push('commit');
    this.hasOpenTransaction = false;
  }

  async abort(options: { reinitialize?: boolean } = {}): Promise<void> {
    this.calls.push(`abort${options.reinitialize ? ' and reinitialize' : ''}`);
    this.hasOpenTransaction = false;
    if (this.fenceNextAbort) {
      this.fenceNextAbort = false;
      throw Object.assign(new Error('a newer producer has this transactional id'), { apiId: 'PRODUCER_FENCED' });
    }
  }
}

async function collectorOn(guarantee: ProcessingGuarantee): Promise<{ collector: RecordCollector; producer: RecordingProducer }> {
  const producer = new RecordingProducer();
  const collector = new RecordCollector({} as BrokerConnections, { guarantee, transactionalId: 'app-1', logger: silentLogger, createProducer: () => producer });
  await collector.init();
  return { collector, producer };
}

function record(index: number, options: { topic?: string; partition?: number; valueBytes?: number } = {}): OutgoingRecord {
  return {
    topic: options.topic ?? 'out',
    key: Buffer.from(`key-${index}`),
    value: options.valueBytes ? Buffer.alloc(options.valueBytes, index % 256) : Buffer.from(`value-${index}`),
    timestamp: index,
    headers: {},
    ...(options.partition !== undefined ? { partition: options.partition } : {}),
  };
}

/** Lets sends that were started run to their end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RecordCollector, exactly-once', () => {
  it('holds records past the end of a slice and sends them with the commit, then the offsets for the generation, then commits', async () => {
    const { collector, producer } = await collectorOn('exactly-once');
    for (let index = 0; index < 3; index += 1) collector.send(record(index));
    collector.sliceEnded();
    await settle();
    expect(producer.calls).toEqual(['init']);
    expect(collector.pending).toBe(3);

    const groupCommits: unknown[] = [];
    await collector.commit(offsets, generation, async (committed) => void groupCommits.push(committed));
    expect(producer.calls).toEqual(['init', 'send 3', 'sendOffsets', 'commit']);
    expect(producer.offsetCommits).toEqual([{ ...generation, offsets }]);
    expect(groupCommits, 'exactly-once never commits through the group').toEqual([]);
  });

  it('starts a send once a batch of 500 records piled up, without waiting for the commit', async () => {
    const { collector, producer } = await collectorOn('exactly-once');
    for (let index = 0; index < 499; index += 1) collector.send(record(index));
    await settle();
    expect(producer.calls).toEqual(['init']);
    collector.send(record(499));
    await settle();
    expect(producer.calls).toEqual(['init', 'send 500']);
    expect(collector.hasOpenTransaction).toBe(true);
  });

  it('refuses to commit offsets outside a group generation', async () => {
    const { collector } = await collectorOn('exactly-once');
    await expect(collector.commit(offsets, undefined, async () => undefined)).rejects.toThrow(/outside a group generation/);
  });

  it("returns where each changelog partition's committed records end, once per transaction", async () => {
    const { collector } = await collectorOn('exactly-once');
    collector.send(record(0, { topic: 'app-store-changelog', partition: 3 }));
    collector.send(record(1, { topic: 'app-store-changelog', partition: 3 }));
    collector.send(record(2, { topic: 'app-other-changelog', partition: 1 }));
    const written = await collector.commit(offsets, generation, async () => undefined);
    expect(Object.fromEntries(written)).toEqual({ [partitionKey('app-store-changelog', 3)]: 102, [partitionKey('app-other-changelog', 1)]: 103 });
    expect((await collector.commit([], generation, async () => undefined)).size).toBe(0);
  });
});

describe('RecordCollector, at-least-once', () => {
  it("sends a slice's records at its end and commits offsets through the group after they were acknowledged", async () => {
    const { collector, producer } = await collectorOn('at-least-once');
    collector.send(record(0));
    collector.send(record(1));
    collector.sliceEnded();
    await settle();
    expect(producer.calls).toEqual(['init', 'send 2']);

    const order: string[] = [];
    collector.send(record(2));
    await collector.commit(offsets, undefined, async (committed) => void order.push(`group commit after ${producer.calls.at(-1)}: ${committed.length} offsets`));
    expect(order).toEqual(['group commit after send 1: 1 offsets']);
    expect(producer.calls).not.toContain('commit');
  });
});

describe('RecordCollector batches', () => {
  it('sends records in processing order, at most 2,000 per request', async () => {
    const { collector, producer } = await collectorOn('exactly-once');
    for (let index = 0; index < 4_500; index += 1) collector.send(record(index));
    await collector.flush();
    expect(producer.batches.map((batch) => batch.length)).toEqual([500, 2_000, 2_000]);
    expect(producer.batches.flat().map((sent) => sent.timestamp)).toEqual(Array.from({ length: 4_500 }, (_, index) => index));
  });

  it('keeps a request under 900 KB, but sends a record larger than that alone', async () => {
    const { collector, producer } = await collectorOn('at-least-once');
    for (let index = 0; index < 20; index += 1) collector.send(record(index, { valueBytes: 100_000 }));
    collector.send(record(20, { valueBytes: 1_200_000 }));
    await collector.flush();
    const sizes = producer.batches.map((batch) => batch.reduce((bytes, sent) => bytes + (sent.value?.length ?? 0), 0));
    expect(sizes.slice(0, -1).every((bytes) => bytes <= 900_000)).toBe(true);
    expect(producer.batches.at(-1)!.map((sent) => sent.timestamp)).toEqual([20]);
    expect(producer.batches.flat()).toHaveLength(21);
  });
});

describe('RecordCollector failures', () => {
  it('fails the flush after a failed send, drops what is queued after it, and starts a new epoch on abort', async () => {
    const { collector, producer } = await collectorOn('exactly-once');
    producer.failNextSend = new Error('the broker closed the connection');
    collector.send(record(0));
    await expect(collector.flush()).rejects.toBeInstanceOf(ProducerFailure);
    expect(collector.failed).toBe(true);
    collector.send(record(1));
    expect(collector.pending, 'records after a failure are not queued: the tasks are revived and process them again').toBe(0);

    await collector.abort();
    expect(producer.calls.at(-1), 'which records the broker has is unknown after a failed send').toBe('abort and reinitialize');
    expect(collector.failed).toBe(false);
    collector.send(record(2));
    await collector.commit(offsets, generation, async () => undefined);
    expect(producer.batches.flat().map((sent) => sent.timestamp)).toEqual([2]);
  });

  it('aborts an open transaction with an EndTxn when no send failed', async () => {
    const { collector, producer } = await collectorOn('exactly-once');
    collector.send(record(0));
    await collector.flush();
    await collector.abort();
    expect(producer.calls.slice(-1)).toEqual(['abort']);
    expect((await collector.commit([], generation, async () => undefined)).size, 'the aborted records end no changelog').toBe(0);
  });

  it('takes the transactional id back when the abort finds the producer fenced', async () => {
    const { collector, producer } = await collectorOn('exactly-once');
    producer.fenceNextAbort = true;
    await collector.abort();
    expect(producer.calls).toEqual(['init', 'abort', 'init']);
  });
});
