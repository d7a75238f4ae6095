/**
 * The changelog reader on a recording fetcher: a restore reads to its end in offset order,
 * one apply at a time per partition, and a stop (a task closing mid-restore) ends the read only
 * once the apply in hand is in, so the caller can close the store after it.
 */
import type { Admin } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import type { BrokerConnections } from '../src/kafka/broker-connections.ts';
import type { FetchedPartition, FetchedRecord } from '../src/kafka/fetcher.ts';
import { ChangelogReader, ReadStopped, type ReaderFetcher, type ReadRange } from '../src/engine/changelog-reader.ts';
import { silentLogger } from '../src/engine/logger.ts';

class RecordingFetcher implements ReaderFetcher {
  readonly calls: string[] = [];
  assign(topic: string, partition: number, offset: number): void {
    this.calls.push(`assign ${topic}-${partition} at ${offset}`);
  }
  unassign(topic: string, partition: number): void {
    this.calls.push(`unassign ${topic}-${partition}`);
  }
  pause(topic: string, partition: number): void {
    this.calls.push(`pause ${topic}-${partition}`);
  }
  resume(topic: string, partition: number): void {
    this.calls.push(`resume ${topic}-${partition}`);
  }
  close(): void {
    this.calls.push('close');
  }
}

/** A reader whose fetches the test delivers by hand. */
class ReaderOnRecordingFetcher extends ChangelogReader {
  readonly recording = new RecordingFetcher();
  private deliver: ((fetched: FetchedPartition) => void) | undefined;

  constructor() {
    super({} as BrokerConnections, {} as Admin, silentLogger);
  }

  protected override createFetcher(onFetched: (fetched: FetchedPartition) => void): ReaderFetcher {
    this.deliver = onFetched;
    return this.recording;
  }

  fetched(topic: string, partition: number, offsets: number[], nextOffset: number): void {
    const records: FetchedRecord[] = offsets.map((offset) => ({ offset, timestamp: offset, key: null, value: Buffer.from(`v${offset}`), headers: {} }));
    this.deliver!({ topic, partition, records, nextOffset, endOffset: nextOffset, highWatermark: nextOffset } as FetchedPartition);
  }
}

/** A promise the test settles, and whether it has settled. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function outcome(promise: Promise<void>): { state: string } {
  const seen = { state: 'pending' };
  promise.then(
    () => (seen.state = 'resolved'),
    (error: unknown) => (seen.state = error instanceof ReadStopped ? 'stopped' : `failed: ${String(error)}`),
  );
  return seen;
}

describe('ChangelogReader', () => {
  it('reads a range to its end in offset order, pausing the partition while records are applied', async () => {
    const reader = new ReaderOnRecordingFetcher();
    const applied: Array<{ offsets: number[]; next: number }> = [];
    const read = outcome(reader.read([{ topic: 'store-changelog', partition: 2, from: 10, to: 15 }], async (_range, records, next) => void applied.push({ offsets: records.map((record) => record.offset), next })));
    expect(reader.recording.calls).toEqual(['assign store-changelog-2 at 10']);

    reader.fetched('store-changelog', 2, [10, 11, 12], 13);
    await settle();
    expect(read.state).toBe('pending');
    reader.fetched('store-changelog', 2, [13, 14, 15, 16], 17);
    await settle();
    expect(read.state).toBe('resolved');
    expect(applied, 'records past the end of the range are not applied').toEqual([
      { offsets: [10, 11, 12], next: 13 },
      { offsets: [13, 14], next: 15 },
    ]);
    expect(reader.recording.calls).toEqual(['assign store-changelog-2 at 10', 'pause store-changelog-2', 'resume store-changelog-2', 'unassign store-changelog-2']);
  });

  it('is done at once with a range that is already empty', async () => {
    const reader = new ReaderOnRecordingFetcher();
    await reader.read([{ topic: 'store-changelog', partition: 0, from: 5, to: 5 }], async () => expect.fail('nothing to apply'));
    expect(reader.recording.calls).toEqual([]);
  });

  it('ends a stopped read only after the apply in hand finished, and applies nothing fetched after the stop', async () => {
    const reader = new ReaderOnRecordingFetcher();
    const applying = gate();
    const applied: number[][] = [];
    const read = outcome(
      reader.read([{ topic: 'store-changelog', partition: 1, from: 0, to: 100 }], async (_range, records) => {
        applied.push(records.map((record) => record.offset));
        await applying.promise;
      }),
    );
    reader.fetched('store-changelog', 1, [0, 1], 2);
    await settle();
    reader.stop('store-changelog', 1);
    await settle();
    expect(read.state, 'the store is still being written: the caller must not close it yet').toBe('pending');
    expect(reader.recording.calls.at(-1)).toBe('unassign store-changelog-1');

    applying.open();
    await settle();
    expect(read.state).toBe('stopped');
    reader.fetched('store-changelog', 1, [2, 3], 4);
    await settle();
    expect(applied).toEqual([[0, 1]]);
    expect(reader.recording.calls, 'a stopped partition is not resumed').not.toContain('resume store-changelog-1');
  });

  it('lets a partition be read again after a stop, and ignores a stop of a partition it is not reading', async () => {
    const reader = new ReaderOnRecordingFetcher();
    reader.stop('store-changelog', 9);
    const range: ReadRange = { topic: 'store-changelog', partition: 0, from: 0, to: 10 };
    const first = outcome(reader.read([range], async () => undefined));
    reader.stop('store-changelog', 0);
    await settle();
    expect(first.state).toBe('stopped');
    const second = outcome(reader.read([{ ...range, from: 4 }], async () => undefined));
    reader.fetched('store-changelog', 0, [4, 5, 6, 7, 8, 9], 10);
    await settle();
    expect(second.state).toBe('resolved');
  });

  it('refuses to read a partition twice at once', async () => {
    const reader = new ReaderOnRecordingFetcher();
    const range: ReadRange = { topic: 'store-changelog', partition: 0, from: 0, to: 10 };
    void reader.read([range], async () => undefined);
    await expect(reader.read([range], async () => undefined)).rejects.toThrow(/already being read/);
  });

  it('fails the read with the apply failure and stops fetching the partition', async () => {
    const reader = new ReaderOnRecordingFetcher();
    const read = outcome(reader.read([{ topic: 'store-changelog', partition: 0, from: 0, to: 10 }], async () => Promise.reject(new Error('disk full'))));
    reader.fetched('store-changelog', 0, [0], 1);
    await settle();
    expect(read.state).toBe('failed: Error: disk full');
    expect(reader.recording.calls.at(-1)).toBe('unassign store-changelog-0');
  });
});
