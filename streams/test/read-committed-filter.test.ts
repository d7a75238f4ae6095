import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * The runtime reads its inputs read_committed, and kafkajs drops aborted records itself, in
 * this function. kafkajs 2.2.4 let records of an aborted transaction through when two aborted
 * transactions began before the fetched offset (after a broker failure every task aborts at
 * once): patches/kafkajs+2.2.4.patch fixes it, applied by `npm install` (patch-package).
 */
const require = createRequire(import.meta.url);
const filterAbortedMessages = require('kafkajs/src/consumer/filterAbortedMessages.js') as (batch: { messages: Message[]; abortedTransactions: Array<{ producerId: string; firstOffset: string }> }) => Message[];

interface Message {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

const record = (offset: number, producerId: string): Message => ({ offset: String(offset), key: Buffer.from(`r${offset}`), isControlRecord: false, batchContext: { producerId, inTransaction: true } });
const abortMarker = (offset: number, producerId: string): Message => ({ offset: String(offset), key: Buffer.from([0, 0, 0, 0]), isControlRecord: true, batchContext: { producerId, inTransaction: true } });
const commitMarker = (offset: number, producerId: string): Message => ({ offset: String(offset), key: Buffer.from([0, 0, 0, 1]), isControlRecord: true, batchContext: { producerId, inTransaction: true } });

describe("kafkajs' read_committed filter (patched)", () => {
  it('drops the records of every aborted transaction begun before the fetched offset', () => {
    // Producers 7 and 8 both aborted transactions that began at offsets 90 and 95; the fetch starts at 100.
    const messages = [record(100, '7'), record(101, '8'), record(102, '9'), abortMarker(103, '7'), abortMarker(104, '8'), commitMarker(105, '9')];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '8', firstOffset: '95' }, { producerId: '7', firstOffset: '90' }] });
    expect(kept.filter((message) => !message.isControlRecord).map((message) => message.offset)).toEqual(['102']);
  });

  it('keeps a producer\'s later committed transaction after its aborted one', () => {
    const messages = [record(1, '7'), abortMarker(2, '7'), record(3, '7'), commitMarker(4, '7')];
    const kept = filterAbortedMessages({ messages, abortedTransactions: [{ producerId: '7', firstOffset: '1' }] });
    expect(kept.filter((message) => !message.isControlRecord).map((message) => message.offset)).toEqual(['3']);
  });
});
