import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { finalOutcomes, reservedUnits } from './final-states.ts';
import { pipelineServices, TestSystem, type ServiceName } from './system.ts';

/**
 * kill -9 of each pipeline service in turn while orders flow, then a restart: every order
 * the API accepted ends in exactly one final state, and the inventory reserved exactly the
 * units of the validated orders (none lost, none reserved twice).
 */
let system: TestSystem;
const accepted: Array<{ id: string; product: string; quantity: number }> = [];

beforeAll(async () => {
  system = await TestSystem.start();
  await system.putStock({ JUMPERS: 1_000_000, UNDERPANTS: 1_000_000, STOCKINGS: 1_000_000 });
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

/** Posts orders at about `perSecond` until `stop` resolves; orders refused while the API is down are not counted. */
async function postWhile(stop: Promise<unknown>, perSecond: number): Promise<void> {
  let done = false;
  void stop.finally(() => (done = true));
  const products = ['JUMPERS', 'UNDERPANTS', 'STOCKINGS'];
  for (let index = 0; !done; index += 1) {
    const product = products[index % products.length]!;
    const quantity = 1 + (index % 3);
    await system
      .postOrder({ customerId: 10_000 + index, product, quantity, price: 1 })
      .then(({ status, body }) => {
        if (status === 201) accepted.push({ id: body.id as string, product, quantity });
      })
      .catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_000 / perSecond));
  }
}

describe('kill -9 of each service under load', () => {
  it.each(pipelineServices as ServiceName[])('%s: killed and restarted, no order lost or finalized twice', async (service) => {
    const before = accepted.length;
    const acceptedSince = (count: number, what: string) => eventually(() => accepted.length - before >= count, what, 60_000);
    // The kill lands once orders are flowing (some accepted, others in the services' hands), and
    // the load goes on until the restarted service has seen more.
    const crashAndRestart = (async () => {
      await acceptedSince(20, 'orders to flow before the kill');
      await system.kill(service);
      const atKill = accepted.length - before;
      await system.restart(service);
      await acceptedSince(atKill + 20, 'orders to flow after the restart');
    })();
    await postWhile(crashAndRestart, 20);
    await crashAndRestart;
    // While the orders service itself is down, its requests fail; the others accept all along.
    expect(accepted.length - before).toBeGreaterThan(10);

    const history = await system.orderHistory(accepted.map((order) => order.id));
    for (const { id } of accepted) {
      const finals = history.get(id)!.filter((order) => order.state !== 'CREATED');
      expect(finals.map((order) => order.state), id).toEqual(['VALIDATED']);
    }
  }, 180_000);

  it('reserved exactly the units of the validated orders, and no order anywhere got two final states', async () => {
    const { finals, validatedUnits } = await finalOutcomes(system, accepted.map((order) => order.id));
    expect([...finals.values()].filter((states) => states.length !== 1)).toEqual([]);
    expect(await reservedUnits(system)).toEqual(Object.fromEntries(validatedUnits));
  });
});
