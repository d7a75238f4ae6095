import { Topics, type Order, type OrderValidation, type OrderValue, type TopicSerdes } from '@ecosystem/avro';
import { jsonSerde, longSerde, SessionWindows, StreamsBuilder, type StreamRecord, type Topology } from 'kstreams';
import type { FraudSettings } from './config.ts';
import { addToTotal, fraudVerdict, orderValue } from './rules.ts';

/** The session store: per customer, the total of each fraud session (the route GET /v1/fraud-sessions reads it). */
export const sessionStoreName = 'customer-session-totals';

/**
 * Orders are grouped by customer into session windows (a session ends after a quiet gap);
 * each order is judged on its session's total so far.
 */
export function fraudTopology(serdes: TopicSerdes, settings: FraudSettings, hooks: { onLateOrder?: (record: StreamRecord<unknown, unknown>, streamTime: number) => void } = {}): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(serdes[Topics.orders].topic, serdes[Topics.orders])
    .filter((_id, order: Order | null) => order?.state === 'CREATED')
    .mapValues(orderValue)
    .groupBy((_id, value) => value.order.customerId, { name: 'orders-by-customer', serdes: { key: longSerde, value: jsonSerde<OrderValue>() } })
    .windowedBy(SessionWindows.withInactivityGap(settings.sessionGapMs).grace(settings.graceMs))
    // An order older than its customer's closed session plus the grace gets no verdict: the
    // aggregator ends it FAILED after its time limit. Orders are stamped when they are posted, so
    // only a replay of old data meets this (a timestamp far ahead, which would close sessions
    // early, is refused by the runtime).
    .reduce(addToTotal, { storeName: sessionStoreName, ...(hooks.onLateOrder ? { onLateRecord: hooks.onLateOrder } : {}) })
    .toStream()
    // Sessions merged into a newer one are retracted with a null total: nothing to judge there.
    .filter((_customer, total: OrderValue | null) => total !== null && total !== undefined)
    .map((_customer, total): [string, OrderValidation] => [
      total.order.id,
      { orderId: total.order.id, checkType: 'FRAUD_CHECK', validationResult: fraudVerdict(total.value, settings.threshold) },
    ])
    .to(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations]);
  return builder.build();
}
