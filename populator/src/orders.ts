import { productSymbols, type Product } from '@ecosystem/avro';

export interface GeneratedOrder {
  customerId: number;
  product: Product;
  quantity: number;
  price: number;
}

export interface OrderMix {
  customers: number[];
  products: readonly Product[];
  /**
   * Share of orders with an unusually high price. They all go to the last customer of the mix,
   * who soon crosses the fraud threshold (a session lasts while orders keep coming within an
   * hour) and then fails every fraud check: the others stay honest for the whole run.
   */
  bigSpenderShare: number;
}

export const defaultMix: OrderMix = { customers: [1, 2, 3, 4, 5, 6, 7, 8, 9], products: productSymbols, bigSpenderShare: 0.05 };

/** One random order of the mix; `random` is injectable so tests can pin it. */
export function generateOrder(mix: OrderMix, random: () => number = Math.random): GeneratedOrder {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const bigSpender = random() < mix.bigSpenderShare;
  const honestCustomers = mix.customers.length > 1 ? mix.customers.slice(0, -1) : mix.customers;
  return {
    customerId: bigSpender ? mix.customers.at(-1)! : pick(honestCustomers),
    product: pick(mix.products),
    quantity: 1 + Math.floor(random() * 3),
    // Everyday orders are small, so an honest customer's session stays under the fraud
    // threshold for hours; big spenders cross it at once.
    price: cents(bigSpender ? 1_000 + random() * 1_500 : 1 + random() * 9),
  };
}

/** Rounds to whole cents (and away from binary fractions like 12.030000000000001). */
function cents(amount: number): number {
  return Math.round(amount * 100) / 100;
}

/** Parses "1-9" or "1,4,7" into customer ids. */
export function parseCustomers(text: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(text.trim());
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from) throw new Error(`empty customer range ${text}`);
    return Array.from({ length: to - from + 1 }, (_, index) => from + index);
  }
  const ids = text.split(',').map((part) => Number(part.trim()));
  if (ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id) || id < 0)) throw new Error(`customers must be a range like 1-9 or a list like 1,4,7, got ${text}`);
  return ids;
}

export function parseProducts(text: string): Product[] {
  const products = text.split(',').map((part) => part.trim().toUpperCase());
  const unknown = products.filter((product) => !(productSymbols as readonly string[]).includes(product));
  if (unknown.length > 0) throw new Error(`unknown products ${unknown.join(', ')}; known: ${productSymbols.join(', ')}`);
  return products as Product[];
}
