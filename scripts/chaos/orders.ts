/**
 * The chaos soak's orders, and the final state each must get, computed with the validators' own
 * rules. Every order has a customer of its own, so its fraud session holds that order alone,
 * and stock is ample except for one product the warehouse never has: each order's verdict
 * follows from the order alone, whatever the order in which the services see them. Except
 * pairs: two equal orders of one customer, each under the fraud threshold and together over it,
 * posted back to back: whichever the fraud service counts first passes, the other fails, so
 * the pair must end one VALIDATED and one FAILED (an order counted twice after a crash fails both).
 */
import type { Order } from '@ecosystem/avro';
import { fraudVerdict, orderValue } from '../../fraud-service/src/rules.ts';
import { reserveStock } from '../../inventory-service/src/rules.ts';
import { checkOrderDetails } from '../../order-details-service/src/rules.ts';
import { Prng } from '../../test/e2e/support/prng.ts';
import type { OrderRequest } from '../../test/failures/order-load.ts';

/** Stock per product: far above what any soak orders (see `maxUnits`), and none of STOCKINGS. */
export const chaosStock: Readonly<Record<string, number>> = { JUMPERS: 100_000_000, UNDERPANTS: 100_000_000, STOCKINGS: 0 };

/** The fraud service's FRAUD_THRESHOLD (its default, which the soak's services keep). */
export const fraudThreshold = 2_000;

/** The most units one order asks for: stock above `maxUnits * orders` is never exhausted. */
export const maxUnits = 3;

/** The price of each order of a pair (1 unit of JUMPERS): under the threshold alone, over it twice. */
export const pairPrice = 1_500;

export type OrderKind = 'everyday' | 'fraud' | 'sold out' | 'invalid' | 'pair';

/** Shares of the mix: mostly orders that validate, and each way of failing. */
export const orderMix: ReadonlyArray<readonly [number, OrderKind]> = [
  [0.8, 'everyday'],
  // Two orders each: about 10% of the orders.
  [0.05, 'pair'],
  [0.05, 'fraud'],
  [0.05, 'sold out'],
  [0.05, 'invalid'],
];

/** The `index`-th order of the soak (drawn in index order from `seed`), for customer `firstCustomer + index`. */
export function chaosOrders(seed: number, firstCustomer: number): (index: number) => OrderRequest {
  const prng = new Prng(seed);
  let partner: OrderRequest | undefined;
  return (index) => {
    const customerId = firstCustomer + index;
    if (partner) {
      const second = partner;
      partner = undefined;
      return second;
    }
    switch (prng.weighted(orderMix)) {
      case 'pair':
        partner = { customerId, product: 'JUMPERS', quantity: 1, price: pairPrice };
        return { ...partner };
      case 'everyday':
        return { customerId, product: prng.pick(['JUMPERS', 'UNDERPANTS']), quantity: prng.int(1, maxUnits), price: prng.int(1, 10) };
      case 'fraud':
        // Worth 2,000-3,000 in one order: at or over the threshold.
        return { customerId, product: 'JUMPERS', quantity: 2, price: prng.int(1_000, 1_500) };
      case 'sold out':
        return { customerId, product: 'STOCKINGS', quantity: prng.int(1, maxUnits), price: prng.int(1, 10) };
      case 'invalid':
        return { customerId, product: 'UNDERPANTS', quantity: prng.int(-1, 0), price: prng.int(1, 10) };
    }
  };
}

export const isPairOrder = (order: OrderRequest) => order.price === pairPrice && order.quantity === 1;

/**
 * The final state the validators' rules give an order of the soak: its details, its customer's
 * session total (its own value, plus for the second of a pair the first's) and the stock (never
 * used up, so nothing reserved before it matters).
 */
const asCreated = (order: OrderRequest) => ({ id: 'chaos', state: 'CREATED', ...order }) as Order;

export function expectedState(order: OrderRequest, sessionBefore = 0): 'VALIDATED' | 'FAILED' {
  const created = asCreated(order);
  const verdicts = [
    checkOrderDetails(created).result,
    fraudVerdict(sessionBefore + orderValue(created).value, fraudThreshold),
    reserveStock(chaosStock[order.product], 0, order.quantity).result,
  ];
  return verdicts.every((verdict) => verdict === 'PASS') ? 'VALIDATED' : 'FAILED';
}

/** The final states of the two orders of a pair, in the order the fraud service counts them (either: they are equal). */
export function expectedPairStates(first: OrderRequest, second: OrderRequest): Array<'VALIDATED' | 'FAILED'> {
  return [expectedState(first), expectedState(second, orderValue(asCreated(first)).value)];
}
