import type { KafkaStreams } from 'kstreams';
import { describe, expect, it } from 'vitest';
import { openApiProblems, operationsOf, servedDocument, withDescribedRoutes } from '../../test/support/openapi.ts';
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
    await withDescribedRoutes(stockRoutes(streams), { title: 'inventory-service', ...inventoryApi }, async (get) => {
      const answer = await get('/v1/stock', 200);
      expect(JSON.parse(answer.body)).toContainEqual({ product: 'JUMPERS', stock: 10, reserved: 3 });
    });
  });
});
