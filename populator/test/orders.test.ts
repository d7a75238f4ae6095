import { describe, expect, it } from 'vitest';
import { checkMix, defaultFraudsters, defaultMix, expectedShares, fraudBurst, OrderGenerator, parseCustomers, parseProducts, type OrderKind, type OrderMix } from '../src/orders.ts';
import { stockToWrite } from '../src/stock.ts';
import { seeded } from './seeded.ts';

interface Posted {
  at: number;
  kind: OrderKind;
  customerId: number;
  product: string;
  quantity: number;
  price: number;
}

/** `count` orders of a mix, one every `intervalMs` of a fake clock. */
function run(mix: OrderMix, count: number, intervalMs: number, seed = 1): Posted[] {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const generator = new OrderGenerator(mix, seeded(seed), () => now);
  const orders: Posted[] = [];
  for (let index = 0; index < count; index += 1) {
    orders.push({ at: now, ...generator.next() });
    now += intervalMs;
  }
  return orders;
}

/**
 * The fraud service's verdicts, computed the way it does: per customer, sessions of orders
 * less than the gap apart, an order fails when its session's running total reaches the threshold.
 */
function fraudVerdicts(orders: Posted[], mix: OrderMix): boolean[] {
  const sessions = new Map<number, { last: number; total: number }>();
  return orders.map((order) => {
    const session = sessions.get(order.customerId);
    const total = (session && order.at - session.last <= mix.sessionGapMs ? session.total : 0) + order.quantity * order.price;
    sessions.set(order.customerId, { last: order.at, total });
    return total >= mix.fraudThreshold;
  });
}

const share = (orders: Posted[], kind: OrderKind) => orders.filter((order) => order.kind === kind).length / orders.length;

describe('the default order mix', () => {
  it('is a thousand customers, five of them fraudsters, and expects 92% VALIDATED', () => {
    expect(defaultMix.customers).toHaveLength(1_000);
    expect(defaultMix.customers.slice(0, 9)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(defaultMix.fraudsters).toBe(5);
    expect(expectedShares(defaultMix).validated).toBeCloseTo(0.92, 10);
  });

  it('gives each kind of order its share', () => {
    const orders = run(defaultMix, 100_000, 1_000);
    expect(share(orders, 'fraud')).toBeCloseTo(0.03, 2);
    expect(share(orders, 'invalid')).toBeCloseTo(0.02, 2);
    expect(share(orders, 'sold-out')).toBeCloseTo(0.03, 2);
    expect(share(orders, 'everyday')).toBeCloseTo(0.92, 2);
  });

  it('fails each deliberate order on exactly its check, and passes the everyday ones', () => {
    const orders = run(defaultMix, 20_000, 1_000);
    const fraudsters = defaultMix.customers.slice(-defaultMix.fraudsters);
    for (const order of orders) {
      const value = order.quantity * order.price;
      if (order.kind === 'fraud') {
        expect(fraudsters).toContain(order.customerId);
        expect(value).toBeGreaterThanOrEqual(defaultMix.fraudThreshold);
        expect(defaultMix.products).toContain(order.product);
      } else {
        expect(fraudsters).not.toContain(order.customerId);
        expect(order.price).toBeGreaterThan(0);
        expect(order.price).toBeLessThanOrEqual(10);
        if (order.kind === 'invalid') expect(order.quantity).toBeLessThanOrEqual(0);
        else expect(order.quantity).toBeGreaterThanOrEqual(1);
        expect(order.kind === 'sold-out' ? defaultMix.soldOut : defaultMix.products).toContain(order.product);
      }
    }
  });

  it('sends fraudsters in bursts of three orders of one customer, which order-enrichment flags', () => {
    const orders = run(defaultMix, 20_000, 1_000);
    for (let index = 0; index < orders.length; ) {
      if (orders[index]!.kind !== 'fraud') {
        index += 1;
        continue;
      }
      const burst = orders.slice(index, index + fraudBurst);
      expect(burst.map((order) => order.kind)).toEqual(['fraud', 'fraud', 'fraud']);
      expect(new Set(burst.map((order) => order.customerId)).size).toBe(1);
      index += fraudBurst;
    }
  });

  it('lets most customers order rarely: the first ten draw over a third of the everyday orders, the last 500 under a tenth', () => {
    // The skew alone: with no threshold in reach no customer's session is ever full.
    const everyday = run({ ...defaultMix, fraudThreshold: 1e12 }, 50_000, 1_000).filter((order) => order.kind === 'everyday');
    const firstTen = everyday.filter((order) => order.customerId <= 10).length / everyday.length;
    const lastHalf = everyday.filter((order) => order.customerId > 500).length / everyday.length;
    expect(firstTen).toBeGreaterThan(0.3);
    expect(lastHalf).toBeLessThan(0.11);
    expect(lastHalf).toBeGreaterThan(0.05);
  });

  // The fraud check judges each customer's orders in sessions that last while orders come less
  // than an hour apart: a mix over too few customers fails every honest order after an hour.
  it.each([
    { what: 'a day at 1 order/s', count: 86_400, intervalMs: 1_000, customers: defaultMix.customers },
    { what: '10 minutes at 30 orders/s (no session ends)', count: 18_000, intervalMs: 1_000 / 30, customers: defaultMix.customers },
    { what: '2 minutes at 25 orders/s over only 100 customers', count: 3_000, intervalMs: 1_000 / 25, customers: parseCustomers('1-100') },
  ])('never fails an honest order on the fraud check: $what', ({ count, intervalMs, customers }) => {
    const mix = { ...defaultMix, customers, fraudsters: defaultFraudsters(customers.length) };
    const orders = run(mix, count, intervalMs);
    const failing = fraudVerdicts(orders, mix);
    const honestFailing = orders.filter((order, index) => order.kind !== 'fraud' && failing[index]);
    expect(honestFailing).toEqual([]);
    expect(orders.every((order, index) => order.kind !== 'fraud' || failing[index])).toBe(true);
    // And the share that ends VALIDATED stays put: the last tenth of the run like the first.
    const tenth = Math.floor(count / 10);
    expect(Math.abs(share(orders.slice(0, tenth), 'everyday') - share(orders.slice(-tenth), 'everyday'))).toBeLessThan(0.03);
  });

  it('refuses a mix it cannot generate, naming the problem', () => {
    expect(() => checkMix({ ...defaultMix, fraudsters: 1_000 })).toThrow(/no honest customer/);
    expect(() => checkMix({ ...defaultMix, customers: [1], fraudsters: 0 })).toThrow(/at least one fraudster/);
    expect(() => checkMix({ ...defaultMix, soldOut: [] })).toThrow(/sold-out product/);
    expect(() => checkMix({ ...defaultMix, soldOut: ['JUMPERS'] })).toThrow(/JUMPERS cannot be in stock and sold out/);
    expect(() => checkMix({ ...defaultMix, fraudShare: 0.5, invalidShare: 0.5, soldOutShare: 0.5 })).toThrow(/more than 1/);
    expect(() => checkMix({ ...defaultMix, customers: [1], fraudsters: 0, fraudShare: 0 })).not.toThrow();
  });
});

describe('the command line\'s lists', () => {
  it('parses customer ranges and lists, and refuses nonsense', () => {
    expect(parseCustomers('1-3')).toEqual([1, 2, 3]);
    expect(parseCustomers('4, 7')).toEqual([4, 7]);
    expect(() => parseCustomers('a-b')).toThrow(/range like 1-9/);
    expect(() => parseCustomers('x')).toThrow(/range like 1-9/);
    expect(() => parseCustomers('1,,2')).toThrow(/range like 1-9/);
    expect(() => parseCustomers('5-1')).toThrow(/empty/);
  });

  it('parses products case-insensitively and names unknown ones', () => {
    expect(parseProducts('jumpers,STOCKINGS')).toEqual(['JUMPERS', 'STOCKINGS']);
    expect(parseProducts('')).toEqual([]);
    expect(() => parseProducts('JUMPERS,HATS')).toThrow(/unknown products HATS/);
  });
});

describe('stock', () => {
  const rows = [
    { product: 'JUMPERS' as const, stock: 100_000, reserved: 70_000 },
    { product: 'UNDERPANTS' as const, stock: 150_000, reserved: 10_000 },
    { product: 'STOCKINGS' as const, stock: 5, reserved: 0 },
  ];

  it('at start fills a product in stock that has less than a shelf available up to a full shelf over what is reserved, and empties the sold-out ones', () => {
    expect(stockToWrite(rows, ['JUMPERS', 'UNDERPANTS'], ['STOCKINGS'], 100_000, true)).toEqual([
      ['JUMPERS', 170_000],
      ['STOCKINGS', 0],
    ]);
  });

  it('at start without an answer from the inventory service puts a shelf of each', () => {
    expect(stockToWrite(undefined, ['JUMPERS'], ['STOCKINGS'], 500, true)).toEqual([
      ['JUMPERS', 500],
      ['STOCKINGS', 0],
    ]);
  });

  it('later tops up only a product that sold half its shelf, and nothing when the service does not answer', () => {
    expect(stockToWrite(rows, ['JUMPERS', 'UNDERPANTS'], ['STOCKINGS'], 100_000, false)).toEqual([['JUMPERS', 170_000]]);
    expect(stockToWrite(undefined, ['JUMPERS'], ['STOCKINGS'], 100_000, false)).toEqual([]);
  });
});
