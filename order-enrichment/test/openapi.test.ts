import { createHttpServer, createLogger, HttpError } from '@ecosystem/platform';
import { describe, expect, it } from 'vitest';
import { answerOf, openApiProblems, operationsOf, ResponseValidator, servedDocument } from '../../test/support/openapi.ts';
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
    const server = createHttpServer({ logger: createLogger('openapi-test', 'silent'), router: fraudRoutes(() => current), isReady: () => true, api: enrichmentApi });
    const url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
    try {
      const validator = await ResponseValidator.fetch(url);
      const exchange = async (target: string, status: number) => {
        const answer = await answerOf(await fetch(`${url}${target}`));
        expect(answer.status, answer.body).toBe(status);
        validator.check({ method: 'GET', target }, answer);
      };
      await exchange('/fraud', 503); // starting
      current = engine({ instanceFraud: async () => [row] });
      await exchange('/fraud?limit=5', 200);
      await exchange('/fraud/instance', 200);
      await exchange('/fraud?limit=0', 400);
      await exchange('/fraud?limit=many', 400);
      current = engine({ fraud: async () => Promise.reject(new HttpError(502, 'instance 127.0.0.1:1 did not answer', { instance: '127.0.0.1:1', answer: { error: 'x' } })) });
      await exchange('/fraud', 502);
      await exchange('/fraud/instance', 404); // the ksqlDB engine has no share
    } finally {
      await server.close();
    }
  });
});
