import { Topics, type Order, type OrderValidation, type TopicSerdes } from '@ecosystem/avro';
import { StreamsBuilder, type Topology } from 'kstreams';
import { checkOrderDetails } from './rules.ts';

/** Every new order gets an ORDER_DETAILS_CHECK verdict. */
export function orderDetailsTopology(serdes: TopicSerdes): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(serdes[Topics.orders].topic, serdes[Topics.orders])
    .filter((_id, order: Order | null) => order?.state === 'CREATED')
    .mapValues((order): OrderValidation => ({ orderId: order.id, checkType: 'ORDER_DETAILS_CHECK', validationResult: checkOrderDetails(order).result }))
    .to(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations]);
  return builder.build();
}
