import { Topics, type Order, type TopicSerdes } from '@ecosystem/avro';
import { StreamsBuilder, type Topology } from 'kstreams';

export const ordersStore = 'latest-orders';

/**
 * The latest state of every order, queryable by id, with every change announced to `onChange`.
 * `retentionMs`: orders.v1's own retention, so the view holds the orders the topic still has
 * (an instance restoring the view from the topic gets the same answers as one that kept it).
 */
export function ordersViewTopology(serdes: TopicSerdes, onChange: (id: string, order: Order) => void, retentionMs?: number): Topology {
  const builder = new StreamsBuilder();
  builder
    .table(serdes[Topics.orders].topic, serdes[Topics.orders], { storeName: ordersStore, ...(retentionMs !== undefined ? { retentionMs } : {}) })
    .toStream()
    .peek((id, order: Order | null) => {
      if (order) onChange(id, order);
    });
  return builder.build();
}
