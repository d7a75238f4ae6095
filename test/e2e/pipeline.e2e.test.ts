import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from './support/prng.ts';
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

  it('judges each customer\'s orders in posting order: 20 customers posting without waiting for verdicts, through two instances', async () => {
    // Each customer posts orders one after another (each after the previous 201, alternating
    // between the two orders-service instances), all customers at once. Their orders sit in
    // different partitions of orders.v1 until the fraud service re-keys them by customer, so
    // only records processed in posting order give the crossing order, and no earlier one, the
    // first FAIL. The amounts are seeded: a failing run can be replayed.
    const random = new Prng(Number(process.env.FRAUD_ORDER_SEED ?? Date.now() % 1_000_000));
    const plans = Array.from({ length: 20 }, () => {
      const prices: number[] = [];
      for (let total = 0; total < 2_000; ) {
        const price = random.int(150, 900);
        prices.push(price);
        total += price;
      }
      for (let extra = random.int(1, 2); extra > 0; extra -= 1) prices.push(random.int(1, 100));
      return { customer: uniqueCustomer(), prices };
    });
    const placed = await Promise.all(
      plans.map(async ({ customer, prices }) => {
        const ids: string[] = [];
        for (const [index, price] of prices.entries()) ids.push(await post({ customerId: customer, product: 'JUMPERS', quantity: 1, price }, index % 2));
        return ids;
      }),
    );
    const validations = await system.validations(placed.flat());
    const history = await system.orderHistory(placed.flat());
    for (const [index, { prices }] of plans.entries()) {
      let total = 0;
      const expected = prices.map((price) => ((total += price) >= 2_000 ? 'FAIL' : 'PASS'));
      const fraud = placed[index]!.map((id) => validations.get(id)!.find((validation) => validation.checkType === 'FRAUD_CHECK')?.validationResult);
      expect(fraud, `seed ${random.seed}, customer ${index}, prices ${prices.join(', ')}`).toEqual(expected);
      const states = placed[index]!.map((id) => history.get(id)!.at(-1)!.state);
      expect(states, `seed ${random.seed}, customer ${index}`).toEqual(expected.map((verdict) => (verdict === 'PASS' ? 'VALIDATED' : 'FAILED')));
    }
  });

  it('fails an order of exactly 2000 alone and passes one just below', async () => {
    const exactly = await post({ customerId: uniqueCustomer(), product: 'JUMPERS', quantity: 2, price: 1000 });
    const below = await post({ customerId: uniqueCustomer(), product: 'JUMPERS', quantity: 1, price: 1999.99 });
    const validations = await system.validations([exactly, below]);
    const fraud = (id: string) => validations.get(id)!.find((validation) => validation.checkType === 'FRAUD_CHECK')?.validationResult;
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
      const response = await system.ordersRequest(`/v1/orders/${id}?timeout=0`, {}, 1);
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
