import { createHttpServer, createLogger } from '@ecosystem/platform';
import type { KafkaStreams } from '@ecosystem/streams';
import { describe, expect, it } from 'vitest';
import { answerOf, openApiProblems, operationsOf, ResponseValidator, servedDocument } from '../../test/support/openapi.ts';
import { inventoryApi } from '../src/openapi.ts';
import { stockRoutes } from '../src/routes.ts';

/** Stores of one task: stock for every product, reservations for JUMPERS only. */
const streams = {
  localStore: (store: string, product: string) => ({ get: async () => (store === 'reserved-stock' ? (product === 'JUMPERS' ? 3 : undefined) : 10) }),
} as unknown as KafkaStreams;

describe("the inventory service's /openapi.json", () => {
  it('is valid OpenAPI 3.1 and names every route', async () => {
    const document = await servedDocument(stockRoutes(streams), { title: 'inventory-service', ...inventoryApi });
    expect(await openApiProblems(document)).toEqual([]);
    expect(operationsOf(document).sort()).toEqual(['GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /ready', 'GET /v1/stock']);
  });

  it('describes what GET /v1/stock answers', async () => {
    const server = createHttpServer({ logger: createLogger('openapi-test', 'silent'), router: stockRoutes(streams), isReady: () => true, api: { title: 'inventory-service', ...inventoryApi } });
    const url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
    try {
      const validator = await ResponseValidator.fetch(url);
      const answer = await answerOf(await fetch(`${url}/v1/stock`));
      expect(JSON.parse(answer.body)).toContainEqual({ product: 'JUMPERS', stock: 10, reserved: 3 });
      validator.check({ method: 'GET', target: '/v1/stock' }, answer);
    } finally {
      await server.close();
    }
  });
});
