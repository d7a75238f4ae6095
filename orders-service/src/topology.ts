import { Topics, type Order, type TopicSerdes } from '@ecosystem/avro';
import { StreamsBuilder, type Topology } from '@ecosystem/streams';

export const ordersStore = 'orders';

/** The latest state of every order, queryable by id, with every change announced to `onChange`. */
export function ordersViewTopology(serdes: TopicSerdes, onChange: (id: string, order: Order) => void): Topology {
  const builder = new StreamsBuilder();
  builder
    .table(serdes[Topics.orders].topic, serdes[Topics.orders], { storeName: ordersStore })
    .toStream()
    .peek((id, order: Order | null) => {
      if (order) onChange(id, order);
    });
  return builder.build();
}
