import { productSymbols } from '@ecosystem/avro';
import { Router } from '@ecosystem/platform';
import type { KafkaStreams, ReadOnlyKeyValueStore } from 'kstreams';
import type { StockRow } from './openapi.ts';
import { inventoryStore, reservedStockStore } from './topology.ts';

/**
 * GET /v1/stock: stock and reserved units per product, from this instance's stores (a
 * product lives in exactly one task; with several instances each answers for its own).
 */
export function stockRoutes(streams: KafkaStreams): Router {
  const router = new Router();
  router.get('/v1/stock', async (ctx) => {
    const rows: StockRow[] = [];
    for (const product of productSymbols) {
      const inventory = streams.localStore<ReadOnlyKeyValueStore<string, number>>(inventoryStore, product);
      const reserved = streams.localStore<ReadOnlyKeyValueStore<string, number>>(reservedStockStore, product);
      if (!inventory || !reserved) continue;
      rows.push({ product, stock: (await inventory.get(product)) ?? 0, reserved: (await reserved.get(product)) ?? 0 });
    }
    ctx.body = rows;
  });
  return router;
}
