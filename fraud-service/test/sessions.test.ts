import type { Order, OrderValue } from '@ecosystem/avro';
import { createHttpServer, createLogger } from '@ecosystem/platform';
import type { KafkaStreams, Session } from 'kstreams';
import { describe, expect, it } from 'vitest';
import { openApiProblems, operationsOf, servedDocument, withDescribedRoutes } from '../../test/support/openapi.ts';
import { fraudApi } from '../src/openapi.ts';
import { currentSessions, fraudSessionRoutes } from '../src/sessions.ts';

const hour = 60 * 60 * 1_000;
const now = 1_700_000_000_000;
const order = (id: string, customerId: number): Order => ({ id, customerId, state: 'CREATED', product: 'JUMPERS', quantity: 1, price: 1 });
const session = (key: number, start: number, end: number, total: number, orderId = `o-${key}-${end}`): Session<OrderValue> & { key: number } => ({ key, start, end, value: { order: order(orderId, key), value: total } });

describe('the current fraud sessions', () => {
  it("are each customer's latest session that an order now would join, by customer id", () => {
    const rows = currentSessions(
      [
        session(7, now - 3 * hour, now - 2 * hour, 500), // ended long ago
        session(7, now - 30 * 60_000, now - 10 * 60_000, 120, 'o-latest'),
        session(3, now - hour + 1, now - hour + 1, 40), // a millisecond left
        session(5, now - hour, now - hour, 900), // just ended
      ],
      now,
      hour,
    );
    expect(rows).toEqual([
      { customerId: 3, start: now - hour + 1, end: now - hour + 1, total: 40, lastOrderId: `o-3-${now - hour + 1}` },
      { customerId: 7, start: now - 30 * 60_000, end: now - 10 * 60_000, total: 120, lastOrderId: 'o-latest' },
    ]);
  });
});

/** One task's session store holding two customers' sessions (other instances at `endpoints`). */
function streamsWith(ready: boolean, stored = [session(1, now - 60_000, now - 1_000, 250.5), session(2, now - 2 * hour, now - 2 * hour, 10)], tasks = ['1_0'], endpoints: string[] = []): KafkaStreams {
  return {
    isReady: ready,
    assignedTasks: tasks,
    endpoints: () => endpoints,
    localStores: () => [
      {
        async *fetchAll(earliestEnd: number) {
          for (const entry of stored) if (entry.end >= earliestEnd) yield entry;
        },
      },
    ],
  } as unknown as KafkaStreams;
}

const routes = fraudSessionRoutes({ sessionGapMs: hour, threshold: 2_000, endpoint: 'a:1' }, () => now);

describe("the fraud service's /openapi.json", () => {
  it('is valid OpenAPI 3.1 and names every route', async () => {
    const document = await servedDocument(routes(streamsWith(true)), { title: 'fraud-service', ...fraudApi });
    expect(await openApiProblems(document)).toEqual([]);
    expect(operationsOf(document).sort()).toEqual(['GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /ready', 'GET /v1/fraud-sessions']);
  });

  it('describes what GET /v1/fraud-sessions answers, and its 503 while not ready', async () => {
    await withDescribedRoutes(routes(streamsWith(true)), { title: 'fraud-service', ...fraudApi }, async (get) => {
      const answer = await get('/v1/fraud-sessions', 200);
      expect(JSON.parse(answer.body)).toEqual({
        asOf: now,
        sessionGapMs: hour,
        threshold: 2_000,
        tasks: ['1_0'],
        sessions: [{ customerId: 1, start: now - 60_000, end: now - 1_000, total: 250.5, lastOrderId: `o-1-${now - 1_000}` }],
      });
    });
    await withDescribedRoutes(routes(streamsWith(false)), { title: 'fraud-service', ...fraudApi }, async (get) => {
      expect(JSON.parse((await get('/v1/fraud-sessions', 503)).body)).toMatchObject({ error: expect.stringMatching(/not ready/) });
    });
  });
});

describe('GET /v1/fraud-sessions with two instances', () => {
  it("answers for both: its own sessions and the other instance's, asked with scope=instance", async () => {
    // Instance b holds customer 9 (and an older session of customer 1, whose partition moved).
    const other = createHttpServer({
      logger: createLogger('fraud-test', 'silent'),
      router: routes(streamsWith(true, [session(9, now - 5_000, now - 4_000, 75, 'o-9'), session(1, now - 9 * 60_000, now - 8 * 60_000, 5)], ['1_2'])),
      isReady: () => true,
      api: { title: 'fraud-service', ...fraudApi },
    });
    const port = await other.listen(0, '127.0.0.1');
    try {
      const a = streamsWith(true, undefined, ['1_0', '1_1'], ['a:1', `127.0.0.1:${port}`]);
      await withDescribedRoutes(routes(a), { title: 'fraud-service', ...fraudApi }, async (get) => {
        const all = JSON.parse((await get('/v1/fraud-sessions', 200)).body) as { tasks: string[]; sessions: Array<{ customerId: number; total: number }> };
        expect(all.tasks).toEqual(['1_0', '1_1', '1_2']);
        expect(all.sessions.map(({ customerId, total }) => [customerId, total])).toEqual([
          [1, 250.5],
          [9, 75],
        ]);
        const mine = JSON.parse((await get('/v1/fraud-sessions?scope=instance', 200)).body) as { tasks: string[]; sessions: unknown[] };
        expect(mine).toMatchObject({ tasks: ['1_0', '1_1'], sessions: [{ customerId: 1 }] });
        await get('/v1/fraud-sessions?scope=everything', 400);
      });
    } finally {
      await other.close();
    }
    // The other instance gone: 502 naming it.
    await withDescribedRoutes(routes(streamsWith(true, undefined, ['1_0'], [`127.0.0.1:${port}`])), { title: 'fraud-service', ...fraudApi }, async (get) => {
      expect(JSON.parse((await get('/v1/fraud-sessions', 502)).body)).toMatchObject({ error: 'an instance of the fraud service did not answer', instance: `127.0.0.1:${port}` });
    });
  });
});
