import { Topics, type Order, type OrderValidation, type TopicSerdes } from '@ecosystem/avro';
import { ContextualProcessor, jsonSerde, Stores, StreamsBuilder, stringSerde, type KeyValueStore, type ProcessorContext, type StreamRecord, type Topology } from '@ecosystem/streams';
import { decide, noChecks, recordOrder, recordResult, type OrderChecks } from './rules.ts';

export const checksStore = 'order-checks';

/**
 * Folds one kind of event (the created order, or a check result) into the order's checks
 * and writes the final state when it becomes decidable. Orders and results are both keyed
 * by order id and co-partitioned, so one task sees everything about an order.
 */
class ChecksFolder<V> extends ContextualProcessor<string, V, string, Order> {
  private checks!: KeyValueStore<string, OrderChecks>;

  constructor(private readonly fold: (checks: OrderChecks, value: V) => OrderChecks) {
    super();
  }

  override init(context: ProcessorContext<string, Order>): void {
    super.init(context);
    this.checks = context.getStateStore(checksStore);
  }

  async process({ key, value, timestamp, headers }: StreamRecord<string, V>): Promise<void> {
    const before = (await this.checks.get(key)) ?? noChecks;
    const after = this.fold(before, value);
    if (after === before) return;
    const decision = decide(after);
    if (!decision) {
      this.checks.put(key, after);
      return;
    }
    // Once decided, only the decision is kept: late or duplicate results are ignored.
    this.checks.put(key, { results: {}, decided: decision });
    await this.context.forward({ key, value: { ...after.order!, state: decision }, timestamp, headers });
  }
}

export function aggregatorTopology(serdes: TopicSerdes): Topology {
  const builder = new StreamsBuilder();
  builder.addStateStore(Stores.keyValue(checksStore, stringSerde, jsonSerde<OrderChecks>()));
  const orderSerdes = serdes[Topics.orders];
  builder
    .stream(orderSerdes.topic, orderSerdes)
    .filter((_id, order: Order | null) => order?.state === 'CREATED')
    .process(() => new ChecksFolder<Order>(recordOrder), { name: 'fold-orders', stores: [checksStore] })
    .to(orderSerdes.topic, orderSerdes);
  builder
    .stream(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations])
    .filter((_id, validation: OrderValidation | null) => validation !== null && validation !== undefined)
    .process(() => new ChecksFolder<OrderValidation>(recordResult), { name: 'fold-results', stores: [checksStore] })
    .to(orderSerdes.topic, orderSerdes);
  return builder.build();
}
