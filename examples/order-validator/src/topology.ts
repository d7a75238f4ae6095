import { jsonSerde, StreamsBuilder, stringSerde, type Topology } from 'kstreams';

export interface Order {
  id: string;
  customerId: string;
  product: string;
  quantity: number;
}

/** What the stock topic holds per product (its key). */
export interface Stock {
  available: number;
}

export interface Validation {
  orderId: string;
  result: 'PASS' | 'FAIL';
  reason?: string;
}

export interface ValidatorTopics {
  /** Orders keyed by product, as the shop writes them. */
  orders: string;
  /** Stock keyed by product, compacted: the latest record per product is the truth. */
  stock: string;
  validated: string;
  rejected: string;
}

export const stockStore = 'stock';

/** The rule, apart from the plumbing: an order passes when the product is known and has enough stock. */
export function validate(order: Order, stock: Stock | undefined): Validation {
  if (!Number.isInteger(order.quantity) || order.quantity <= 0) return { orderId: order.id, result: 'FAIL', reason: `quantity ${order.quantity} is not a positive whole number` };
  if (!stock) return { orderId: order.id, result: 'FAIL', reason: `unknown product ${order.product}` };
  if (stock.available < order.quantity) return { orderId: order.id, result: 'FAIL', reason: `only ${stock.available} of ${order.product} in stock` };
  return { orderId: order.id, result: 'PASS' };
}

/**
 * Orders joined with the stock table by product: each order is judged against the stock as of
 * its own timestamp (the runtime reads the table up to the order's time before joining), and
 * the verdict, keyed by order id, goes to the validated or the rejected topic.
 */
export function orderValidatorTopology(topics: ValidatorTopics): Topology {
  const builder = new StreamsBuilder();
  const stock = builder.table(topics.stock, { key: stringSerde, value: jsonSerde<Stock>() }, { storeName: stockStore });
  builder
    .stream(topics.orders, { key: stringSerde, value: jsonSerde<Order>() })
    .leftJoin(stock, (order, available) => validate(order, available))
    .selectKey((_product, validation) => validation.orderId)
    .to((_orderId, validation) => (validation.result === 'PASS' ? topics.validated : topics.rejected), { key: stringSerde, value: jsonSerde<Validation>() });
  return builder.build();
}
