import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { Prng } from './support/prng.ts';
import { TestSystem } from './system.ts';

/**
 * The anchor's fraud scenario, many times over, the way users drive the system: three customers,
 * eight orders posted one after another (each after the previous 201), never waiting for a
 * verdict, while other clients post orders of their own. A customer's orders sit in different
 * partitions of orders.v1 until the fraud service re-keys them, so only orders judged in posting
 * order get the verdicts below. Rounds run right after the system starts, and while the fraud
 * service restarts after a kill -9 (its tasks start one by one, with a backlog to work through).
 */

/** Order values (quantity x price) of the anchor's three customers, in posting order, and the fraud verdict each must get (threshold 2000 per session). */
const anchor = [
  { customer: 0, quantity: 3, price: 25, verdict: 'PASS' }, // 75
  { customer: 1, quantity: 1, price: 1_000, verdict: 'PASS' }, // 1,000
  { customer: 2, quantity: 1, price: 10, verdict: 'PASS' }, // 10
  { customer: 0, quantity: 3, price: 1_250, verdict: 'FAIL' }, // 75 + 3,750
  { customer: 1, quantity: 1, price: 1_000, verdict: 'FAIL' }, // 2,000
  { customer: 2, quantity: 2, price: 10, verdict: 'PASS' }, // 30
  { customer: 0, quantity: 1, price: 5, verdict: 'FAIL' }, // still over
  { customer: 1, quantity: 1, price: 5, verdict: 'FAIL' }, // still over
] as const;

let system: TestSystem;
const random = new Prng(Number(process.env.POSTING_ORDER_SEED ?? Date.now() % 1_000_000));
let nextCustomer = 1_000_000 + random.int(0, 1_000_000) * 100;

beforeAll(async () => {
  system = await TestSystem.start();
  await system.putStock({ JUMPERS: 100_000_000, UNDERPANTS: 100_000_000 });
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

/** Other clients' orders, concurrently, until stopped: each from a customer of its own, so none of them is fraud. */
function backgroundLoad(perSecond: number): { stop: () => Promise<void> } {
  const inFlight = new Set<Promise<unknown>>();
  const timer = setInterval(() => {
    const request = system.postOrder({ customerId: nextCustomer++, product: 'UNDERPANTS', quantity: 1, price: 3 }).catch(() => undefined);
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }, 1_000 / perSecond);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}

/** One round of the anchor scenario with three new customers; resolves with the posted order ids and the verdicts they must get. */
async function postAnchorRound(): Promise<Array<{ id: string; verdict: string }>> {
  const customers = [nextCustomer++, nextCustomer++, nextCustomer++];
  const posted: Array<{ id: string; verdict: string }> = [];
  for (const order of anchor) {
    const { status, body } = await system.postOrder({ customerId: customers[order.customer], product: 'JUMPERS', quantity: order.quantity, price: order.price });
    expect(status, JSON.stringify(body)).toBe(201);
    posted.push({ id: body.id as string, verdict: order.verdict });
  }
  return posted;
}

async function wrongVerdicts(rounds: Array<Array<{ id: string; verdict: string }>>): Promise<string[]> {
  const expected = rounds.flat();
  const validations = await system.validations(expected.map(({ id }) => id));
  const wrong: string[] = [];
  for (const [round, orders] of rounds.entries()) {
    for (const [index, { id, verdict }] of orders.entries()) {
      const fraud = validations.get(id)?.find((validation) => validation.checkType === 'FRAUD_CHECK')?.validationResult;
      if (fraud !== verdict) wrong.push(`round ${round}, order ${index + 1} (${id}): FRAUD_CHECK ${fraud ?? 'missing'}, expected ${verdict}`);
    }
  }
  return wrong;
}

describe('verdicts in posting order', () => {
  it('holds right after the start, under other clients\' load: 4 clients x 5 rounds', async () => {
    const load = backgroundLoad(20);
    try {
      const rounds = (await Promise.all(Array.from({ length: 4 }, async () => {
        const mine = [];
        for (let round = 0; round < 5; round += 1) mine.push(await postAnchorRound());
        return mine;
      }))).flat();
      expect(await wrongVerdicts(rounds)).toEqual([]);
    } finally {
      await load.stop();
    }
  }, 240_000);

  it('holds while the fraud service restarts after a kill -9 and works through the orders posted meanwhile', async () => {
    const load = backgroundLoad(20);
    try {
      await system.kill('fraud-service');
      // Rounds posted while it is down, then while it starts again.
      const down = await Promise.all(Array.from({ length: 4 }, () => postAnchorRound()));
      await system.startService('fraud-service');
      const starting = await Promise.all(Array.from({ length: 4 }, () => postAnchorRound()));
      await eventually(async () => (await fetch(`${system.serviceUrl('fraud-service')}/ready`).then((answer) => answer.ok, () => false)), 'the restarted fraud service to be ready', 90_000);
      const after = await Promise.all(Array.from({ length: 4 }, () => postAnchorRound()));
      expect(await wrongVerdicts([...down, ...starting, ...after])).toEqual([]);
    } finally {
      await load.stop();
    }
  }, 300_000);
});
