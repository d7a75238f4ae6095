import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSystem } from './system.ts';

/** Every order posted in this file, to check at the end that each has exactly one final state. */
const posted: string[] = [];
let system: TestSystem;

beforeAll(async () => {
  system = await TestSystem.start({ ordersInstances: 2 });
  await system.putStock({ JUMPERS: 1_000_000, UNDERPANTS: 1_000_000, STOCKINGS: 1_000_000 });
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

const uniqueCustomer = () => 1_000 + Math.floor(Math.random() * 1_000_000_000);

async function post(order: Record<string, unknown>, instance = 0): Promise<string> {
  const { status, body } = await system.postOrder(order, instance);
  expect(status, JSON.stringify(body)).toBe(201);
  posted.push(body.id as string);
  return body.id as string;
}

describe('the order validation pipeline, five services as separate processes', () => {
  it('takes one order with stock to VALIDATED through GET /v1/orders/:id/validated', async () => {
    const id = await post({ customerId: uniqueCustomer(), product: 'JUMPERS', quantity: 1, price: 10 });
    const { status, body } = await system.getOrder(id, { validated: true });
    expect(status).toBe(200);
    expect(body).toMatchObject({ id, state: 'VALIDATED', product: 'JUMPERS', quantity: 1, price: 10 });
  });

  it('validates ten orders with stock', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, (_, index) => post({ customerId: uniqueCustomer(), product: 'UNDERPANTS', quantity: index + 1, price: 5 })));
    const finals = await Promise.all(ids.map((id) => system.getOrder(id, { validated: true })));
    expect(finals.map(({ body }) => body.state)).toEqual(ids.map(() => 'VALIDATED'));
  });

  it('fails an order for quantity -1 on the order-details check', async () => {
    const id = await post({ customerId: uniqueCustomer(), product: 'STOCKINGS', quantity: -1, price: 3 });
    const { body } = await system.getOrder(id, { validated: true });
    expect(body.state).toBe('FAILED');
    const validations = (await system.validations([id])).get(id)!;
    expect(validations.find((validation) => validation.checkType === 'ORDER_DETAILS_CHECK')?.validationResult).toBe('FAIL');
  });

  it('fails the fraud check from the order that takes a customer to 2000 in a session, and an order of exactly 2000 alone', async () => {
    const customer = uniqueCustomer();
    const ids: string[] = [];
    // Totals: 1000, 1900, 2100 (crossing), 2150: the crossing order and the later one fail.
    // Orders of one customer sit in different partitions of orders.v1 until the fraud service
    // re-keys them, so "later" means later in processing: each waits for the previous verdict.
    for (const price of [1000, 900, 200, 50]) {
      const id = await post({ customerId: customer, product: 'JUMPERS', quantity: 1, price });
      await system.getOrder(id, { validated: true });
      ids.push(id);
    }
    const exactly = await post({ customerId: uniqueCustomer(), product: 'JUMPERS', quantity: 2, price: 1000 });
    const below = await post({ customerId: uniqueCustomer(), product: 'JUMPERS', quantity: 1, price: 1999.99 });
    const validations = await system.validations([...ids, exactly, below]);
    const fraud = (id: string) => validations.get(id)!.find((validation) => validation.checkType === 'FRAUD_CHECK')?.validationResult;
    expect(ids.map(fraud)).toEqual(['PASS', 'PASS', 'FAIL', 'FAIL']);
    expect(fraud(exactly)).toBe('FAIL');
    expect(fraud(below)).toBe('PASS');
  });

  it('serves every order posted to one instance at once through the other, for 120 orders over all partitions', async () => {
    const ids = Array.from({ length: 120 }, () => `rw-${randomUUID()}`);
    const started = Date.now();
    for (const id of ids) {
      await post({ id, customerId: uniqueCustomer(), product: 'STOCKINGS', quantity: 1, price: 1 }, 0);
      const { status, body } = await system.getOrder(id, { instance: 1, timeoutMs: 10_000 });
      expect(status).toBe(200);
      expect(body.id).toBe(id);
    }
    // Both instances served reads (the orders spread over partitions owned by each).
    const servedBy = new Set<string>();
    for (const id of ids.slice(0, 30)) {
      const response = await fetch(`${system.ordersUrl(1)}/v1/orders/${id}?timeout=0`);
      servedBy.add(response.headers.get('x-served-by') ?? '');
    }
    expect(servedBy.size).toBe(2);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('refuses a duplicate id with 409, through either instance', async () => {
    const id = `dup-${randomUUID()}`;
    await post({ id, customerId: uniqueCustomer(), product: 'JUMPERS', quantity: 1, price: 1 });
    expect((await system.postOrder({ id, customerId: 1, product: 'JUMPERS', quantity: 1, price: 1 }, 0)).status).toBe(409);
    expect((await system.postOrder({ id, customerId: 1, product: 'JUMPERS', quantity: 1, price: 1 }, 1)).status).toBe(409);
  });

  it('answers 504 with a clear message when an order does not appear within the timeout', async () => {
    const { status, body } = await system.getOrder(`missing-${randomUUID()}`, { timeoutMs: 300 });
    expect(status).toBe(504);
    expect(body.error).toMatch(/was not found within 300 ms/);
  });

  it('gives every posted order exactly one final state record on orders.v1', async () => {
    const history = await system.orderHistory(posted);
    for (const id of posted) {
      const states = history.get(id)!.map((order) => order.state);
      expect(states[0], id).toBe('CREATED');
      expect(states.filter((state) => state === 'VALIDATED' || state === 'FAILED'), id).toHaveLength(1);
    }
  });
});
