import { productSymbols, type Product } from '@ecosystem/avro';
import type { SessionSeed } from './fraud-sessions.ts';

export interface GeneratedOrder {
  customerId: number;
  product: Product;
  quantity: number;
  price: number;
}

/** What an order is meant to show: the first three end VALIDATED, the others FAILED on purpose. */
export type OrderKind = 'everyday' | 'fraud' | 'invalid' | 'sold-out';

/**
 * The customers the populator orders for (the customers source seeds ids 1 to CUSTOMER_COUNT,
 * 1,000 by default) and the share of each kind of order.
 */
export const defaultCustomerCount = 1_000;

/** A fraudster places this many orders back to back: more than two in 30 s, which order-enrichment flags. */
export const fraudBurst = 3;

/**
 * An honest customer spends at most this share of the fraud threshold in one fraud session, so
 * honest customers never fail the fraud check, at any rate and for any time. A restarted
 * populator learns the sessions from the fraud service (`seedSessions`); should the service not
 * answer, it starts from none, and two runs within a session still stay under the threshold.
 */
export const honestSessionShare = 0.4;

export interface OrderMix {
  /** The customer base, in order of how often they order: the first orders most (see `skew`). */
  customers: number[];
  /** The last `fraudsters` customers of the base are fraudsters; the others are honest. */
  fraudsters: number;
  /** Products in stock (topped up by the populator). */
  products: readonly Product[];
  /** Products the warehouse never gets: every order for one fails the inventory check. */
  soldOut: readonly Product[];
  /** Share of orders placed by fraudsters (in bursts), each big enough to fail the fraud check. */
  fraudShare: number;
  /** Share of orders with a quantity of 0 or less, which fail the order-details check. */
  invalidShare: number;
  /** Share of orders for a sold-out product, which fail the inventory check. */
  soldOutShare: number;
  /**
   * How unevenly honest customers order: the n-th customer orders in proportion to 1/n^skew
   * (Zipf). With 1 and 1,000 customers, the first ten place more than a third of the orders
   * and the last 500 fewer than a tenth.
   */
  skew: number;
  /** The fraud service's rule, FRAUD_THRESHOLD and FRAUD_SESSION_GAP_MS: honest customers stay well under it. */
  fraudThreshold: number;
  sessionGapMs: number;
}

export const defaultMix: OrderMix = {
  customers: Array.from({ length: defaultCustomerCount }, (_, index) => index + 1),
  fraudsters: defaultFraudsters(defaultCustomerCount),
  products: ['JUMPERS', 'UNDERPANTS'],
  soldOut: ['STOCKINGS'],
  fraudShare: 0.03,
  invalidShare: 0.02,
  soldOutShare: 0.03,
  skew: 1,
  fraudThreshold: 2_000,
  sessionGapMs: 60 * 60 * 1_000,
};

/** Five fraudsters among a thousand customers, one per hundred below that, one at least (none for a single customer). */
export function defaultFraudsters(customers: number): number {
  return customers < 2 ? 0 : Math.min(5, Math.max(1, Math.floor(customers / 100)));
}

/** The share of each final state to expect from a mix: the kinds of order fail on exactly one check each. */
export function expectedShares(mix: Pick<OrderMix, 'fraudShare' | 'invalidShare' | 'soldOutShare'>): { validated: number; fraud: number; invalid: number; soldOut: number } {
  return { validated: 1 - mix.fraudShare - mix.invalidShare - mix.soldOutShare, fraud: mix.fraudShare, invalid: mix.invalidShare, soldOut: mix.soldOutShare };
}

/** Throws, naming the problem, for a mix that cannot be generated. */
export function checkMix(mix: OrderMix): void {
  if (mix.customers.length === 0) throw new Error('the mix needs at least one customer');
  if (mix.fraudsters >= mix.customers.length) throw new Error(`${mix.fraudsters} fraudsters leave no honest customer among ${mix.customers.length}`);
  if (mix.fraudShare > 0 && mix.fraudsters === 0) throw new Error('fraud orders need at least one fraudster');
  if (mix.products.length === 0) throw new Error('the mix needs at least one product in stock');
  if (mix.soldOutShare > 0 && mix.soldOut.length === 0) throw new Error('sold-out orders need a sold-out product');
  const both = mix.products.filter((product) => mix.soldOut.includes(product));
  if (both.length > 0) throw new Error(`${both.join(', ')} cannot be in stock and sold out at once`);
  if (mix.fraudShare + mix.invalidShare + mix.soldOutShare > 1) throw new Error('the shares of fraud, invalid and sold-out orders add up to more than 1');
}

/** 3 items at 10. */
const largestEverydayValue = 30;

interface Session {
  last: number;
  total: number;
}

/**
 * Generates the orders of a mix, one at a time. Stateful: a fraudster's burst spans several
 * calls, and it remembers each honest customer's current fraud session (as the fraud service
 * sees it: orders less than the session gap apart) to keep it under `honestSessionShare` of
 * the threshold, giving the order to another customer when it would not be.
 */
export class OrderGenerator {
  private readonly honest: number[];
  private readonly fraudsters: number[];
  /** Cumulative Zipf weights of the honest customers, for a binary search. */
  private readonly cumulative: number[];
  private readonly sessions = new Map<number, Session>();
  private burst: { customerId: number; left: number } | undefined;
  private readonly odds: { burst: number; invalid: number; soldOut: number };

  constructor(
    private readonly mix: OrderMix,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {
    checkMix(mix);
    this.honest = mix.customers.slice(0, mix.customers.length - mix.fraudsters);
    this.fraudsters = mix.customers.slice(mix.customers.length - mix.fraudsters);
    let sum = 0;
    this.cumulative = this.honest.map((_, index) => (sum += 1 / (index + 1) ** mix.skew));
    // A draw starts a burst of `fraudBurst` orders or makes one order: the odds per draw that
    // give each kind its share of orders.
    const burst = mix.fraudShare / (fraudBurst - mix.fraudShare * (fraudBurst - 1));
    const ordersPerDraw = 1 + burst * (fraudBurst - 1);
    this.odds = { burst, invalid: mix.invalidShare * ordersPerDraw, soldOut: mix.soldOutShare * ordersPerDraw };
  }

  /**
   * Takes the customers' current fraud sessions as the fraud service holds them (at start): a
   * session the populator already remembers keeps the newer of the two.
   */
  seedSessions(seeds: readonly SessionSeed[]): void {
    for (const { customerId, last, total } of seeds) {
      const known = this.sessions.get(customerId);
      if (!known || known.last < last) this.sessions.set(customerId, { last, total });
    }
  }

  next(): GeneratedOrder & { kind: OrderKind } {
    if (this.burst) return this.fraudOrder();
    const draw = this.random();
    if (draw < this.odds.burst) {
      this.burst = { customerId: this.pick(this.fraudsters), left: fraudBurst };
      return this.fraudOrder();
    }
    if (draw < this.odds.burst + this.odds.invalid) {
      // Zero or minus one: the order-details check fails it (and inventory reserves nothing).
      return this.honestOrder('invalid', this.pick(this.mix.products), -Math.floor(this.random() * 2));
    }
    if (draw < this.odds.burst + this.odds.invalid + this.odds.soldOut) return this.honestOrder('sold-out', this.pick(this.mix.soldOut), this.everydayQuantity());
    return this.honestOrder('everyday', this.pick(this.mix.products), this.everydayQuantity());
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)]!;
  }

  private everydayQuantity(): number {
    return 1 + Math.floor(this.random() * 3);
  }

  /** A fraudster's order is worth at least the threshold on its own: it fails the fraud check whatever its session held. */
  private fraudOrder(): GeneratedOrder & { kind: OrderKind } {
    const burst = this.burst!;
    burst.left -= 1;
    if (burst.left === 0) this.burst = undefined;
    const quantity = 3 + Math.floor(this.random() * 3);
    const price = ceilCents((this.mix.fraudThreshold / 3) * (1 + this.random() / 2));
    return { kind: 'fraud', customerId: burst.customerId, product: this.pick(this.mix.products), quantity, price };
  }

  /** Everyday orders are small (1-3 items at 1-10 each); the customer is drawn by the skew among those with room in their session. */
  private honestOrder(kind: OrderKind, product: Product, quantity: number): GeneratedOrder & { kind: OrderKind } {
    const price = cents(1 + this.random() * 9);
    const value = quantity * price;
    const now = this.now();
    const limit = this.mix.fraudThreshold * honestSessionShare;
    // A session with no room for the largest everyday order takes no order at all, not even one of
    // value 0 or less: it must end (an hour without orders) before the customer orders again.
    const full = (total: number) => total + Math.max(value, largestEverydayValue) >= limit;
    let customerId = this.honestCustomer();
    let total = this.sessionTotal(customerId, now);
    // A few more draws find a customer with room; should all of them be full (a rate far beyond
    // what the customer base buys), the last one orders anyway.
    for (let attempt = 1; attempt < 20 && full(total); attempt += 1) {
      customerId = this.honestCustomer();
      total = this.sessionTotal(customerId, now);
    }
    this.sessions.set(customerId, { last: now, total: total + value });
    return { kind, customerId, product, quantity, price };
  }

  private honestCustomer(): number {
    const target = this.random() * this.cumulative[this.cumulative.length - 1]!;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.cumulative[middle]! > target) high = middle;
      else low = middle + 1;
    }
    return this.honest[low]!;
  }

  /** The customer's total in the fraud session an order now would join; a minute of slack covers clocks and delays. */
  private sessionTotal(customerId: number, now: number): number {
    const session = this.sessions.get(customerId);
    return session && now - session.last < this.mix.sessionGapMs + 60_000 ? session.total : 0;
  }
}

/** Rounds to whole cents (and away from binary fractions like 12.030000000000001). */
function cents(amount: number): number {
  return Math.round(amount * 100) / 100;
}

function ceilCents(amount: number): number {
  return Math.ceil(amount * 100) / 100;
}

/** Parses "1-9" or "1,4,7" into customer ids. */
export function parseCustomers(text: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(text.trim());
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from) throw new Error(`empty customer range ${text}`);
    return Array.from({ length: to - from + 1 }, (_, index) => from + index);
  }
  const ids = text.split(',').map((part) => (/^\s*\d+\s*$/.test(part) ? Number(part) : Number.NaN));
  if (ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id) || id < 0)) throw new Error(`customers must be a range like 1-9 or a list like 1,4,7, got ${text}`);
  return ids;
}

/** Parses "jumpers,STOCKINGS" into products; an empty text is no product. */
export function parseProducts(text: string): Product[] {
  if (text.trim() === '') return [];
  const products = text.split(',').map((part) => part.trim().toUpperCase());
  const unknown = products.filter((product) => !(productSymbols as readonly string[]).includes(product));
  if (unknown.length > 0) throw new Error(`unknown products ${unknown.join(', ')}; known: ${productSymbols.join(', ')}`);
  return products as Product[];
}
