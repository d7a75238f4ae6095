import { describe, expect, it } from 'vitest';
import { BatchingProducer, ProducerQueueFullError, SendAbortedError, type RecordWriter } from '../src/batching-producer.ts';

/** A producer whose sends the test completes by hand, recording the keys of each request. */
function manualProducer() {
  const requests: Array<{ keys: string[]; complete: () => void }> = [];
  const producer: RecordWriter = {
    init: async () => undefined,
    send: (records) => new Promise<void>((resolve) => requests.push({ keys: records.map((record) => record.key!.toString()), complete: resolve })),
  };
  return { requests, create: () => producer };
}

const record = (key: string) => ({ key: Buffer.from(key), value: Buffer.from('v') });
const settled = (promise: Promise<void>) => promise.then(() => 'written', (error: unknown) => error);

describe('the batching producer', () => {
  it('refuses a record at once when its queue is full, and takes records again once it drains', async () => {
    const { requests, create } = manualProducer();
    const producer = new BatchingProducer(create, undefined, 500, 3);
    await producer.connect();
    const first = producer.send('t', record('a'));
    const waiting = [producer.send('t', record('b')), producer.send('t', record('c'))];
    expect(producer.queued).toBe(3);
    await expect(producer.send('t', record('d'))).rejects.toBeInstanceOf(ProducerQueueFullError);
    requests[0]!.complete();
    await first;
    await expect.poll(() => requests.length).toBe(2);
    expect(requests[1]!.keys).toEqual(['b', 'c']);
    requests[1]!.complete();
    await Promise.all(waiting);
    expect(producer.queued).toBe(0);
    const again = producer.send('t', record('e'));
    await expect.poll(() => requests.length).toBe(3);
    requests[2]!.complete();
    await again;
  });

  it('drops a waiting record whose caller gave up, and says when one already sent may be written', async () => {
    const { requests, create } = manualProducer();
    const producer = new BatchingProducer(create);
    await producer.connect();
    const sentGiveUp = new AbortController();
    const waitingGiveUp = new AbortController();
    const sent = settled(producer.send('t', record('a'), sentGiveUp.signal));
    const waiting = settled(producer.send('t', record('b'), waitingGiveUp.signal));
    const kept = producer.send('t', record('c'));
    sentGiveUp.abort();
    waitingGiveUp.abort();
    expect(await sent).toEqual(new SendAbortedError(true));
    expect(((await sent) as SendAbortedError).sent).toBe(true);
    expect(((await waiting) as SendAbortedError).sent).toBe(false);
    requests[0]!.complete();
    await expect.poll(() => requests.length).toBe(2);
    // The dropped record is never sent.
    expect(requests.map((request) => request.keys)).toEqual([['a'], ['c']]);
    requests[1]!.complete();
    await kept;
  });
});
