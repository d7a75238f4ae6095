import type { Product } from '@ecosystem/avro';

/** A row of the inventory service's GET /v1/stock. */
export interface StockRow {
  product: Product;
  stock: number;
  reserved: number;
}

/**
 * The stock to write (product -> units, the absolute figure the inventory topic holds) so that
 * every product in stock has `shelf` units available again (stock minus what orders reserved,
 * which only grows), and sold-out products have none. At start a product in stock is topped up
 * when it has less than the shelf available, or put on the shelf when the inventory service
 * did not say; afterwards only when it has fallen to half the shelf.
 */
export function stockToWrite(rows: readonly StockRow[] | undefined, products: readonly Product[], soldOut: readonly Product[], shelf: number, atStart: boolean): Array<[Product, number]> {
  const writes: Array<[Product, number]> = [];
  for (const product of products) {
    const row = rows?.find((candidate) => candidate.product === product);
    if (!row) {
      if (atStart) writes.push([product, shelf]);
      continue;
    }
    const available = row.stock - row.reserved;
    if (available < (atStart ? shelf : shelf / 2)) writes.push([product, row.reserved + shelf]);
  }
  if (atStart) for (const product of soldOut) writes.push([product, 0]);
  return writes;
}

/** GET /v1/stock of the inventory service, or undefined when it does not answer. */
export async function fetchStock(inventoryUrl: string): Promise<StockRow[] | undefined> {
  try {
    const response = await fetch(`${inventoryUrl}/v1/stock`, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? ((await response.json()) as StockRow[]) : undefined;
  } catch {
    return undefined;
  }
}
