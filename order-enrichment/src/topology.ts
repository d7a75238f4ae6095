import { Topics, type Customer, type KeyValueSerdes, type Order, type OrderEnriched, type TopicSerdes } from '@ecosystem/avro';
import { jsonSerde, longSerde, StreamsBuilder, TimeWindows, type ReadOnlyWindowStore, type StreamRecord, type Topology } from 'kstreams';
import {
  countOrder,
  enrichOrder,
  fraudRow,
  fraudWindowGraceMs,
  fraudWindowOf,
  fraudWindowSizeMs,
  isCountedOrder,
  newestFirst,
  noOrders,
  orderEnriched,
  type EnrichedOrder,
  type FraudCount,
  type FraudRow,
} from './rules.ts';

/** The customers table (a KTable over `customers`, restored from the topic itself). */
export const customersStore = 'customers';
/** Orders per customer and 30-second window. */
export const fraudCountsStore = 'fraud-counts';
/** CREATED orders re-keyed by customer id travel through `<application id>-orders-by-customer-repartition`. */
export const ordersByCustomer = 'orders-by-customer';

/** The topics the topology reads and writes, with their serdes (Avro in production, anything in tests). */
export interface EnrichmentTopics {
  orders: KeyValueSerdes<string, Order>;
  customers: KeyValueSerdes<number, Customer>;
  ordersEnriched: KeyValueSerdes<string, OrderEnriched>;
}

export function enrichmentTopics(serdes: TopicSerdes): EnrichmentTopics {
  return { orders: serdes[Topics.orders], customers: serdes[Topics.customers], ordersEnriched: serdes[Topics.ordersEnriched] };
}

export const fraudWindows = TimeWindows.ofSize(fraudWindowSizeMs).grace(fraudWindowGraceMs);

export interface EnrichmentOptions {
  /** An order that arrived after its window closed (more than the grace period late): it is not counted. */
  onLateOrder?: (record: StreamRecord<unknown, unknown>, streamTime: number) => void;
}

/**
 * orders LEFT JOIN customers → orders-enriched.v1, and the windowed order count per customer.
 *
 * Orders are keyed by order id, customers by customer id: CREATED orders are re-keyed by
 * customer id and repartitioned with the 8-byte long serde of the `customers` key, so an
 * order lands in the partition (and task) holding its customer. Customers are a KTable, not
 * a global table: the count needs that repartition anyway, and after it each task joins with
 * its own share of customers instead of every instance holding all of them.
 */
export function enrichmentTopology(topics: EnrichmentTopics, options: EnrichmentOptions = {}): Topology {
  const builder = new StreamsBuilder();
  const customers = builder.table(topics.customers.topic, topics.customers, { storeName: customersStore });
  const enriched = builder
    .stream(topics.orders.topic, topics.orders)
    .filter((_id, order: Order | null) => isCountedOrder(order))
    .selectKey((_id, order): number => order.customerId)
    .leftJoin(customers, enrichOrder, { name: ordersByCustomer, serdes: { key: longSerde, value: jsonSerde<Order>() } });
  enriched.map((_customerId, order): [string, OrderEnriched] => [order.orderId, orderEnriched(order)]).to(topics.ordersEnriched.topic, topics.ordersEnriched);
  enriched
    .groupByKey({ serdes: { key: longSerde, value: jsonSerde<EnrichedOrder>() } })
    .windowedBy(fraudWindows)
    .aggregate(noOrders, (_customerId, order, count: FraudCount) => countOrder(count, order), {
      storeName: fraudCountsStore,
      valueSerde: jsonSerde<FraudCount>(),
      ...(options.onLateOrder ? { onLateRecord: options.onLateOrder } : {}),
    });
  return builder.build();
}

/** The fraud rows of some instances of the window store, newest first. */
export async function fraudRowsOf(stores: Iterable<ReadOnlyWindowStore<number, FraudCount>>, limit: number): Promise<FraudRow[]> {
  const rows: FraudRow[] = [];
  for (const store of stores) {
    for await (const { key, start, value } of store.fetchAll(0, Number.MAX_SAFE_INTEGER)) {
      const row = fraudRow(key, fraudWindowOf(start), value);
      if (row) rows.push(row);
    }
  }
  return newestFirst(rows, limit);
}
