import { productSymbols } from '@ecosystem/avro';
import { named, type ApiDescription } from '@ecosystem/platform';
import { z } from 'zod';

/** A row of GET /v1/stock. */
export const stockRowSchema = z
  .object({
    product: z.enum(productSymbols),
    stock: z.int().describe('Units in the warehouse (the latest record of warehouse-inventory.v1; 0 when none).'),
    reserved: z.int().describe('Units reserved by orders that passed the inventory check and have not FAILED.'),
  })
  .strict();

export type StockRow = z.infer<typeof stockRowSchema>;

/** GET /v1/stock as OpenAPI, from the schema its handler builds its rows with. */
export const inventoryApi: Omit<ApiDescription, 'title'> = {
  description: 'The inventory service: reserves stock for CREATED orders, exactly once; its stores answer GET /v1/stock.',
  operations: [
    {
      method: 'get',
      path: '/v1/stock',
      operationId: 'getStock',
      summary: 'Stock and reserved units per product',
      description: "From this instance's stores: a product lives in one task, so with several instances each answers for the products it owns.",
      responses: {
        '200': { description: 'One row per product this instance holds.', body: named('StockRows', z.array(stockRowSchema)) },
      },
    },
  ],
};
