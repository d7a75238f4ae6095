import { Topics, type Order } from '@ecosystem/avro';
import { RecordProducer } from 'kstreams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { TestSystem } from './system.ts';

/**
 * Every accepted order reaches exactly one final state, within the aggregator's time limit,
 * whatever happens to its checks: a validator that is not running, an order the fraud service
 * takes as late (its customer's session closed long before). And an aggregator that was down
 * longer than its time limit does not fail the orders whose checks wait in its backlog.
 */
const checkTimeoutMs = 3_000;
let system: TestSystem;

beforeAll(async () => {
  system = await TestSystem.start({
    // Short sessions and grace, so an order can be late; a short time limit, so the test is quick.
    environment: { CHECK_TIMEOUT_MS: String(checkTimeoutMs), FRAUD_SESSION_GAP_MS: '1000', FRAUD_GRACE_MS: '1000' },
  });
  await system.putStock({ UNDERPANTS: 1_000 });
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

const customer = () => 1_000_000 + Math.floor(Math.random() * 1_000_000_000);

/** The order's records on orders.v1 once it has a final state, with the final record's headers. */
async function ending(id: string): Promise<{ states: string[]; reason: string | undefined }> {
  const serdes = system.serdes[Topics.orders];
  const records = await system.read(serdes.topic, (value) => serdes.value.deserialize(value), (seen) => seen.some(({ key, value }) => key === id && value.state !== 'CREATED'));
  const mine = records.filter(({ key }) => key === id);
  const reason = mine.find(({ value }) => value.state !== 'CREATED')?.headers.reason;
  return { states: mine.map(({ value }) => value.state), reason: reason === undefined ? undefined : String(reason) };
}

async function reservedUnderpants(): Promise<number | undefined> {
  const rows = (await (await fetch(`${system.serviceUrl('inventory-service')}/v1/stock`)).json()) as Array<{ product: string; reserved: number }>;
  return rows.find((row) => row.product === 'UNDERPANTS')?.reserved;
}

describe('every accepted order ends', () => {
  it('ends FAILED, naming the missing check, when a validator is not running; its reserved stock is released', async () => {
    await system.kill('fraud-service', 'SIGTERM');
    try {
      const before = (await reservedUnderpants()) ?? 0;
      const { status, body } = await system.postOrder({ customerId: customer(), product: 'UNDERPANTS', quantity: 5, price: 1 });
      expect(status).toBe(201);
      const started = Date.now();
      expect(await ending(body.id as string)).toEqual({ states: ['CREATED', 'FAILED'], reason: `no FRAUD_CHECK within ${checkTimeoutMs / 1_000} s` });
      expect(Date.now() - started).toBeGreaterThanOrEqual(checkTimeoutMs - 1_000);
      // The inventory check passed and reserved 5: the FAILED order gives them back.
      await eventually(async () => (await reservedUnderpants()) === before, 'the reservation to be released', 30_000);
    } finally {
      await system.restart('fraud-service');
    }
  });

  it('ends FAILED an order the fraud service takes as late, which gets no fraud verdict', async () => {
    const customerId = customer();
    const { body } = await system.postOrder({ customerId, product: 'UNDERPANTS', quantity: 1, price: 1 });
    expect((await system.getOrder(body.id as string, { validated: true })).body.state).toBe('VALIDATED');
    // The same customer's order stamped a minute earlier, written as another producer would: its
    // session closed (1 s gap, 1 s grace) long before the customer's newest order.
    const late: Order = { id: `late-${customerId}`, customerId, state: 'CREATED', product: 'UNDERPANTS', quantity: 1, price: 1 };
    const serdes = system.serdes[Topics.orders];
    const connections = system.kafka.connections('late-writer');
    try {
      const producer = new RecordProducer(connections, { logger: { debug() {}, info() {}, warn() {}, error() {} } });
      await producer.init();
      await producer.send([{ topic: serdes.topic, key: serdes.key.serialize(late.id), value: await serdes.value.serialize(late), timestamp: Date.now() - 60_000 }]);
    } finally {
      await connections.close();
    }
    expect(await ending(late.id)).toEqual({ states: ['CREATED', 'FAILED'], reason: `no FRAUD_CHECK within ${checkTimeoutMs / 1_000} s` });
  });

  it('does not fail orders whose checks wait in its backlog after it was down for longer than the time limit', async () => {
    await system.kill('validation-aggregator', 'SIGTERM');
    const ids: string[] = [];
    for (let index = 0; index < 20; index += 1) {
      const { body } = await system.postOrder({ customerId: customer(), product: 'UNDERPANTS', quantity: 1, price: 1 });
      ids.push(body.id as string);
    }
    // Every check is written while the aggregator is down, and waits longer than its time limit.
    const validations = await system.validations(ids);
    expect([...validations.values()].every((checks) => checks.length === 3)).toBe(true);
    // What this test is about is time passing: the backlog ages beyond the time limit, twice over.
    await new Promise((resolve) => setTimeout(resolve, checkTimeoutMs * 2));
    await system.restart('validation-aggregator');
    const histories = await system.orderHistory(ids);
    expect(ids.map((id) => histories.get(id)!.map((order) => order.state))).toEqual(ids.map(() => ['CREATED', 'VALIDATED']));
  });
});
