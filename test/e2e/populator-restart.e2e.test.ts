import { Topics } from '@ecosystem/avro';
import { afterAll, describe, expect, it } from 'vitest';
import { honestSessionShare } from '../../populator/src/orders.ts';
import { TestSystem } from './system.ts';

/**
 * A populator (re)started while the fraud service holds sessions continues them: it asks the
 * fraud service for each customer's current session at start (GET /v1/fraud-sessions) instead
 * of counting from zero. Customer 1's session already holds 790 (as a run before the restart
 * left it): with the threshold at 2000, an honest customer stays under 800, and no everyday
 * order (up to 30) fits, so every order of the restarted populator goes to customer 2. A
 * populator that forgot would give customer 1 about two thirds of them (the Zipf skew).
 */
const threshold = 2_000;
const spent = 790;
let system: TestSystem | undefined;

afterAll(async () => {
  await system?.stop();
});

interface SessionRow {
  customerId: number;
  total: number;
}

async function fraudSessions(url: string): Promise<SessionRow[]> {
  const response = await fetch(`${url}/v1/fraud-sessions`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { sessions: SessionRow[] }).sessions;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a restarted populator', () => {
  it("learns each customer's fraud session from the fraud service and keeps honest customers under the threshold", async () => {
    system = await TestSystem.start({ services: ['orders-service', 'fraud-service'], environment: { FRAUD_THRESHOLD: String(threshold) } });
    const fraudUrl = system.serviceUrl('fraud-service');
    expect(spent + 30).toBeGreaterThanOrEqual(threshold * honestSessionShare);

    // What an earlier run left: customer 1's session at 790.
    const { status } = await system.postOrder({ customerId: 1, product: 'JUMPERS', quantity: 1, price: spent });
    expect(status).toBe(201);
    await until(async () => ((await fraudSessions(fraudUrl)).find((row) => row.customerId === 1)?.total === spent ? true : undefined), "customer 1's session in the fraud service");

    const count = 8;
    const mix = ['--customers', '1-2', '--fraudsters', '0', '--fraud-share', '0', '--invalid-share', '0', '--sold-out-share', '0', '--stock', '0', '--fraud-threshold', String(threshold)];
    const output = await system.populate([...mix, '--count', String(count), '--rate', '20', '--quiet', '--url', system.ordersUrl(), '--fraud-url', fraudUrl], 60_000);
    expect(output).toContain(`fraud sessions: 1 customers' current sessions from ${fraudUrl} (largest total ${spent})`);
    expect(output).toMatch(/done: posted 8 .*created 8, rejected 0, errors 0/);

    // Every order judged: the fraud checks of all nine orders, each PASS.
    const checks = system.serdes[Topics.orderValidations];
    const verdicts = await system.read(checks.topic, (value) => checks.value.deserialize(value), (seen) => seen.filter(({ value }) => value.checkType === 'FRAUD_CHECK').length >= count + 1);
    expect(verdicts.filter(({ value }) => value.checkType === 'FRAUD_CHECK').map(({ value }) => value.validationResult)).toEqual(Array.from({ length: count + 1 }, () => 'PASS'));
    const sessions = await fraudSessions(fraudUrl);
    expect(sessions.find((row) => row.customerId === 1)?.total).toBe(spent);
    expect(sessions.find((row) => row.customerId === 2)?.total).toBeGreaterThan(0);

    // A fraud service that does not answer: one line, and the populator runs as before.
    const alone = await system.populate([...mix, '--count', '1', '--quiet', '--url', system.ordersUrl(), '--fraud-url', 'http://127.0.0.1:9'], 60_000);
    expect(alone.split('\n').filter((line) => line.startsWith('fraud sessions:'))).toEqual([expect.stringMatching(/^fraud sessions: http:\/\/127\.0\.0\.1:9 did not answer \(.+\); starting with none remembered$/)]);
    expect(alone).toMatch(/done: posted 1 .*created 1/);
  }, 240_000);

  it('gets every customer\'s session from either of two fraud-service instances, each asking the other', async () => {
    const running = system!;
    await running.startService('fraud-service', 1);
    await running.waitUntilReady();
    const urls = [running.serviceUrl('fraud-service', 0), running.serviceUrl('fraud-service', 1)];
    // Two customers in each of the three partitions (murmur2 of the 8-byte key: 11 and 28 in 0, 12 and 13 in 1, 17 and 20 in 2).
    const customers = [11, 12, 13, 17, 20, 28];
    for (const customerId of customers) expect((await running.postOrder({ customerId, product: 'JUMPERS', quantity: 1, price: customerId })).status).toBe(201);

    const idsFrom = async (url: string, scope = 'all') => {
      const response = await fetch(`${url}/v1/fraud-sessions?scope=${scope}`);
      return response.status === 200 ? ((await response.json()) as { sessions: SessionRow[] }).sessions.map((row) => row.customerId) : undefined;
    };
    // Both instances answer for all: their own customers and the other's (a rebalance answers 503 meanwhile).
    for (const url of urls) {
      await until(async () => ((await idsFrom(url))?.filter((id) => customers.includes(id)).length === customers.length ? true : undefined), `every customer's session through ${url}`, 60_000);
    }
    const [own0, own1] = [await idsFrom(urls[0]!, 'instance'), await idsFrom(urls[1]!, 'instance')];
    expect([...own0!, ...own1!].filter((id) => customers.includes(id)).sort((a, b) => a - b)).toEqual(customers);
    expect(own0!.filter((id) => own1!.includes(id))).toEqual([]);
    // Every partition holds some of them, so each instance holds some itself.
    expect([own0!.filter((id) => customers.includes(id)).length, own1!.filter((id) => customers.includes(id)).length]).not.toContain(0);
  }, 180_000);
});
