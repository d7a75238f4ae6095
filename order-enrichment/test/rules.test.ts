import type { Customer, Order } from '@ecosystem/avro';
import { TimeWindows } from 'kstreams';
import { describe, expect, it } from 'vitest';
import {
  countOrder,
  defaultFraudLimit,
  enrichOrder,
  fraudRow,
  fraudWindowOf,
  isCountedOrder,
  isFraud,
  maxFraudLimit,
  newestFirst,
  noOrders,
  orderEnriched,
  parseFraudLimit,
  unknownCustomerLevel,
  type EnrichedOrder,
  type FraudRow,
} from '../src/rules.ts';
import { fraudWindows } from '../src/topology.ts';

const order = (id: string, state: Order['state'] = 'CREATED', customerId = 7): Order => ({ id, customerId, state, product: 'JUMPERS', quantity: 1, price: 10 });
const ada: Customer = { id: 7, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: '1 Analytical St', level: 'gold' };
const enriched = (firstName: string | null = 'Ada', lastName: string | null = 'Lovelace'): EnrichedOrder => ({ orderId: 'o', customerId: 7, firstName, lastName, customerLevel: 'gold' });

/** Counts the orders at these timestamps per window, as both engines do. */
function countByWindow(timestamps: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const timestamp of timestamps) {
    const { start } = fraudWindowOf(timestamp);
    counts.set(start, (counts.get(start) ?? 0) + 1);
  }
  return counts;
}

describe('which orders count', () => {
  it('counts an order once, by its CREATED record, not its VALIDATED or FAILED records', () => {
    expect(isCountedOrder(order('a', 'CREATED'))).toBe(true);
    expect(isCountedOrder(order('a', 'VALIDATED'))).toBe(false);
    expect(isCountedOrder(order('a', 'FAILED'))).toBe(false);
    expect(isCountedOrder(order('a', 'SHIPPED'))).toBe(false);
    expect(isCountedOrder(null)).toBe(false);
  });
});

describe('enrichment', () => {
  it("takes the customer's names and level", () => {
    expect(enrichOrder(order('a'), ada)).toEqual({ orderId: 'a', customerId: 7, firstName: 'Ada', lastName: 'Lovelace', customerLevel: 'gold' });
    expect(orderEnriched(enrichOrder(order('a'), ada))).toEqual({ id: 'a', customerId: 7, customerLevel: 'gold' });
  });

  it('keeps an order whose customer is unknown, at the unknown level and without names', () => {
    expect(enrichOrder(order('a'), undefined)).toEqual({ orderId: 'a', customerId: 7, firstName: null, lastName: null, customerLevel: unknownCustomerLevel });
    expect(unknownCustomerLevel).toBe('unknown');
  });
});

describe('fraud windows', () => {
  const start = 1_700_000_010_000; // a multiple of 30 000

  it('are 30-second tumbling windows aligned to the epoch, start inclusive, end exclusive', () => {
    expect(start % 30_000).toBe(0);
    expect(fraudWindowOf(start)).toEqual({ start, end: start + 30_000 });
    expect(fraudWindowOf(start + 29_999)).toEqual({ start, end: start + 30_000 });
    expect(fraudWindowOf(start - 1)).toEqual({ start: start - 30_000, end: start });
  });

  it('puts an order at exactly windowStart + 30000 into the next window', () => {
    expect(fraudWindowOf(start + 30_000)).toEqual({ start: start + 30_000, end: start + 60_000 });
  });

  it('are the windows the local engine aggregates over', () => {
    expect(fraudWindows.sizeMs).toBe(30_000);
    for (const timestamp of [0, start, start + 29_999, start + 30_000, start + 12_345]) {
      expect(fraudWindows.windowFor(timestamp)).toEqual(fraudWindowOf(timestamp));
    }
    expect(TimeWindows.ofSize(30_000).windowFor(start + 30_000)).toEqual(fraudWindowOf(start + 30_000));
  });

  it('make orders at t, t+10s, t+29.999s one window of 3 (fraud) and orders at t, t+10s, t+30s two windows (not fraud)', () => {
    const within = countByWindow([start, start + 10_000, start + 29_999]);
    expect([...within]).toEqual([[start, 3]]);
    expect(isFraud(3)).toBe(true);
    const across = countByWindow([start, start + 10_000, start + 30_000]);
    expect([...across]).toEqual([
      [start, 2],
      [start + 30_000, 1],
    ]);
    expect([...across.values()].some(isFraud)).toBe(false);
  });
});

describe('the fraud threshold', () => {
  it('is more than 2 orders: 3 is fraud, 2 is not', () => {
    expect(isFraud(2)).toBe(false);
    expect(isFraud(3)).toBe(true);
    expect(isFraud(10)).toBe(true);
  });

  it('gives a row only for fraud windows, with the names the orders carried', () => {
    const window = fraudWindowOf(60_000);
    let count = noOrders();
    count = countOrder(count, enriched());
    count = countOrder(count, enriched());
    expect(fraudRow(7, window, count)).toBeUndefined();
    count = countOrder(count, enriched(null, null));
    expect(count).toEqual({ counts: 3, firstName: 'Ada', lastName: 'Lovelace' });
    expect(fraudRow(7, window, count)).toEqual({ customerId: 7, firstName: 'Ada', lastName: 'Lovelace', counts: 3, windowStart: 60_000, windowEnd: 90_000 });
  });

  it('keeps the latest non-null names (as LATEST_BY_OFFSET does)', () => {
    const count = [enriched('Ada', 'Byron'), enriched('Ada', 'Lovelace'), enriched(null, null)].reduce(countOrder, noOrders());
    expect(count).toEqual({ counts: 3, firstName: 'Ada', lastName: 'Lovelace' });
  });
});

describe('the answer', () => {
  const row = (customerId: number, windowStart: number): FraudRow => ({ customerId, firstName: null, lastName: null, counts: 3, windowStart, windowEnd: windowStart + 30_000 });

  it('lists the newest windows first, customers in id order within a window, at most limit', () => {
    const rows = [row(5, 0), row(2, 30_000), row(9, 60_000), row(1, 30_000)];
    expect(newestFirst(rows, 10)).toEqual([row(9, 60_000), row(1, 30_000), row(2, 30_000), row(5, 0)]);
    expect(newestFirst(rows, 2)).toEqual([row(9, 60_000), row(1, 30_000)]);
  });

  it('reads limit as a whole number from 1 to the maximum, with a default', () => {
    expect(parseFraudLimit(undefined)).toEqual({ ok: true, limit: defaultFraudLimit });
    expect(parseFraudLimit('1')).toEqual({ ok: true, limit: 1 });
    expect(parseFraudLimit(String(maxFraudLimit))).toEqual({ ok: true, limit: maxFraudLimit });
    for (const bad of ['0', String(maxFraudLimit + 1), '-1', '2.5', 'ten', '', ' 3', '1e3', ['1', '2']]) {
      expect(parseFraudLimit(bad), JSON.stringify(bad)).toMatchObject({ ok: false });
    }
  });
});
