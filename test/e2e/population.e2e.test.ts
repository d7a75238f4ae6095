import { Topics, type Order } from '@ecosystem/avro';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedShares, defaultMix } from '../../populator/src/orders.ts';
import { TestSystem } from './system.ts';

/**
 * A day of `npm start`, compressed: the populator's default mix at 20 orders/s for two minutes
 * over only 100 customers, so each customer orders about as often as in five hours at the
 * default rate over the default 1,000, and no fraud session of this run ever ends (they last
 * an hour). The share of VALIDATED orders must hold from the first 30 s to the last, at the
 * mix's expected 92%: no honest customer ever drifts into failing the fraud check.
 */
const rate = 20;
const seconds = 120;
let system: TestSystem | undefined;

afterAll(async () => {
  await system?.stop();
});

/** What the mix meant each order to become: everyday orders pass every check, the others fail one. */
function intended(order: Order): 'VALIDATED' | 'FAILED' {
  const everyday = order.quantity >= 1 && order.price <= 10 && defaultMix.products.includes(order.product);
  return everyday ? 'VALIDATED' : 'FAILED';
}

describe('the populator\'s default mix, a compressed day', () => {
  it('keeps the VALIDATED share steady, at the share the mix expects, and fails only the orders meant to fail', async () => {
    system = await TestSystem.start();
    const output = await system.populate(
      ['--rate', String(rate), '--duration', String(seconds), '--customers', '1-100', '--url', system.ordersUrl(), '--inventory-url', system.serviceUrl('inventory-service'), '--fraud-url', system.serviceUrl('fraud-service')],
      (seconds + 90) * 1000,
    );
    expect(output).toMatch(/done: .*errors 0/);
    const posted = Number(/done: posted (\d+)/.exec(output)?.[1]);
    expect(posted).toBeGreaterThan(rate * seconds * 0.9);

    const serdes = system.serdes[Topics.orders];
    const records = await system.read(serdes.topic, (value) => serdes.value.deserialize(value), (seen) => {
      const created = seen.filter(({ value }) => value.state === 'CREATED').length;
      const final = new Set(seen.filter(({ value }) => value.state !== 'CREATED').map(({ key }) => key)).size;
      return created >= posted && final >= created;
    }, 120_000);
    const createdAt = new Map(records.filter(({ value }) => value.state === 'CREATED').map(({ key, timestamp }) => [key, timestamp]));
    const finals = records.filter(({ value }) => value.state !== 'CREATED').map(({ key, value }) => ({ at: createdAt.get(key)!, order: value }));
    expect(finals).toHaveLength(createdAt.size);

    const wrong = finals.filter(({ order }) => order.state !== intended(order));
    expect(wrong.map(({ order }) => order), 'orders that ended otherwise than the mix meant').toEqual([]);

    const first = Math.min(...finals.map(({ at }) => at));
    const last = Math.max(...finals.map(({ at }) => at));
    const share = (from: number, to: number) => {
      const window = finals.filter(({ at }) => at >= from && at < to);
      return window.filter(({ order }) => order.state === 'VALIDATED').length / window.length;
    };
    const overall = share(first, last + 1);
    const opening = share(first, first + 30_000);
    const closing = share(last - 30_000, last + 1);
    console.log(`VALIDATED: ${(overall * 100).toFixed(1)}% of ${finals.length} orders; first 30 s ${(opening * 100).toFixed(1)}%, last 30 s ${(closing * 100).toFixed(1)}% (expected ${(expectedShares(defaultMix).validated * 100).toFixed(0)}%)`);
    expect(Math.abs(closing - opening)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(overall - expectedShares(defaultMix).validated)).toBeLessThanOrEqual(0.05);
  }, 600_000);
});
