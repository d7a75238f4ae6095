import { HttpError } from '@ecosystem/platform';
import { describe, expect, it } from 'vitest';
import { openApiProblems, operationsOf, servedDocument, withDescribedRoutes } from '../../test/support/openapi.ts';
import type { FraudEngine } from '../src/engine.ts';
import { enrichmentApi } from '../src/openapi.ts';
import { fraudRoutes } from '../src/routes.ts';

const row = { customerId: 7, firstName: 'Ada', lastName: null, counts: 3, windowStart: 30_000, windowEnd: 60_000 };

function engine(overrides: Partial<FraudEngine>): FraudEngine {
  return { kind: 'local', isReady: true, start: async () => {}, fraud: async () => [row], describe: () => ({}), close: async () => {}, ...overrides };
}

describe("order-enrichment's /openapi.json", () => {
  it('is valid OpenAPI 3.1 and names every route', async () => {
    const document = await servedDocument(fraudRoutes(() => undefined), enrichmentApi);
    expect(await openApiProblems(document)).toEqual([]);
    expect(operationsOf(document).sort()).toEqual(['GET /fraud', 'GET /fraud/instance', 'GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /ready']);
  });

  it("describes GET /fraud's answers, errors included", async () => {
    let current: FraudEngine | undefined;
    await withDescribedRoutes(fraudRoutes(() => current), enrichmentApi, async (get) => {
      await get('/fraud', 503); // starting
      current = engine({ instanceFraud: async () => [row] });
      await get('/fraud?limit=5', 200);
      await get('/fraud/instance', 200);
      await get('/fraud?limit=0', 400);
      await get('/fraud?limit=many', 400);
      current = engine({ fraud: async () => Promise.reject(new HttpError(502, 'instance 127.0.0.1:1 did not answer', { instance: '127.0.0.1:1', answer: { error: 'x' } })) });
      await get('/fraud', 502);
      await get('/fraud/instance', 404); // the ksqlDB engine has no share
    });
  });
});
