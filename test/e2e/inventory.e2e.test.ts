import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestSystem } from './system.ts';

let system: TestSystem;

beforeAll(async () => {
  system = await TestSystem.start();
  await system.putStock({ UNDERPANTS: 75, JUMPERS: 1 });
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

async function post(order: Record<string, unknown>): Promise<string> {
  const { status, body } = await system.postOrder(order);
  expect(status, JSON.stringify(body)).toBe(201);
  return body.id as string;
}

const inventoryResult = async (ids: string[]) => {
  const validations = await system.validations(ids);
  return ids.map((id) => validations.get(id)!.find((validation) => validation.checkType === 'INVENTORY_CHECK')?.validationResult);
};

describe('inventory checks on a fresh system (UNDERPANTS 75, JUMPERS 1, no STOCKINGS)', () => {
  it('passes underpants x3 and jumpers x1, then fails a second jumpers x1', async () => {
    const ids: string[] = [];
    // One after another, as a client posts them (each after the previous 201, no waiting for
    // verdicts): the decisions follow posting order.
    for (const [product, quantity] of [['UNDERPANTS', 3], ['JUMPERS', 1], ['JUMPERS', 1]] as const) ids.push(await post({ customerId: 1, product, quantity, price: 1 }));
    expect(await inventoryResult(ids)).toEqual(['PASS', 'PASS', 'FAIL']);
  });

  it('fails ten orders for a product without stock, each reaching FAILED', async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, () => post({ customerId: 2, product: 'STOCKINGS', quantity: 1, price: 1 })));
    const finals = await Promise.all(ids.map((id) => system.getOrder(id, { validated: true })));
    expect(finals.map(({ body }) => body.state)).toEqual(ids.map(() => 'FAILED'));
    expect(await inventoryResult(ids)).toEqual(ids.map(() => 'FAIL'));
  });

  it('releases the stock of an order that fails another check', async () => {
    // 72 underpants are left. An order of 72 that fails the fraud check (value >= 2000) must give them back.
    const failing = await post({ customerId: 3, product: 'UNDERPANTS', quantity: 72, price: 100 });
    expect((await system.getOrder(failing, { validated: true })).body.state).toBe('FAILED');
    expect(await inventoryResult([failing])).toEqual(['PASS']);
    // The release travels through the inventory service's repartition topic: wait until it shows.
    const inventory = system.processes.find((process) => process.service === 'inventory-service')!;
    const reservedUnderpants = async () => {
      const rows = (await (await fetch(`http://127.0.0.1:${inventory.port}/v1/stock`)).json()) as Array<{ product: string; reserved: number }>;
      return rows.find((row) => row.product === 'UNDERPANTS')?.reserved;
    };
    for (let attempt = 0; (await reservedUnderpants()) !== 3 && attempt < 200; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(await reservedUnderpants()).toBe(3);
    const next = await post({ customerId: 4, product: 'UNDERPANTS', quantity: 72, price: 1 });
    expect((await system.getOrder(next, { validated: true })).body.state).toBe('VALIDATED');
  });

  it('checks a backlog of orders against stock written before them, when the inventory service comes back', async () => {
    // Stock arrives while the service is down, then orders that need all of it. On restart the
    // service has both the stock row and the orders to read: it must read the stock first.
    await system.kill('inventory-service', 'SIGTERM');
    await system.writeStock({ STOCKINGS: 300 });
    const ids = await Promise.all(Array.from({ length: 300 }, (_, index) => post({ customerId: 10_000 + index, product: 'STOCKINGS', quantity: 1, price: 1 })));
    await system.restart('inventory-service');
    const results = await inventoryResult(ids);
    expect(results.filter((result) => result !== 'PASS')).toEqual([]);
    const finals = await Promise.all(ids.map((id) => system.getOrder(id, { validated: true })));
    expect(finals.filter(({ body }) => body.state !== 'VALIDATED')).toEqual([]);
  });
});
