import { Topics, type Order, type OrderValidation, type Product, type TopicSerdes } from '@ecosystem/avro';
import { ContextualProcessor, jsonSerde, Stores, StreamsBuilder, stringSerde, type KeyValueStore, type ProcessorContext, type ReadOnlyKeyValueStore, type StreamRecord, type Topology } from 'kstreams';
import { releaseStock, reserveStock } from './rules.ts';

export const inventoryStore = 'warehouse-inventory';
export const reservedStockStore = 'reserved-stock';
/** Which order holds how many units, so a FAILED order's reservation can be released. */
export const reservationsStore = 'reservations';

interface Reservation {
  product: Product;
  quantity: number;
}

/**
 * Checks and reserves stock per product. Orders are re-keyed by product, so one task owns a
 * product's stock, reservations and decisions, updated exactly once together.
 */
class StockReservation extends ContextualProcessor<string, Order, string, OrderValidation> {
  private inventory!: ReadOnlyKeyValueStore<string, number>;
  private reserved!: KeyValueStore<string, number>;
  private reservations!: KeyValueStore<string, Reservation>;

  override init(context: ProcessorContext<string, OrderValidation>): void {
    super.init(context);
    this.inventory = context.getStateStore(inventoryStore);
    this.reserved = context.getStateStore(reservedStockStore);
    this.reservations = context.getStateStore(reservationsStore);
  }

  async process({ value: order, timestamp, headers }: StreamRecord<string, Order>): Promise<void> {
    const reservation = await this.reservations.get(order.id);
    if (order.state === 'FAILED') {
      if (!reservation) return;
      this.reserved.put(reservation.product, releaseStock((await this.reserved.get(reservation.product)) ?? 0, reservation.quantity));
      this.reservations.delete(order.id);
      return;
    }
    if (order.state === 'VALIDATED') {
      // The stock stays reserved for good; only the bookkeeping goes.
      this.reservations.delete(order.id);
      return;
    }
    // Later states (SHIPPED) reserve nothing: only a new order does.
    if (order.state !== 'CREATED') return;
    // A CREATED order seen again (a replay of the same order) keeps its earlier reservation.
    let result: OrderValidation['validationResult'] = 'PASS';
    if (!reservation) {
      const decision = reserveStock(await this.inventory.get(order.product), (await this.reserved.get(order.product)) ?? 0, order.quantity);
      result = decision.result;
      if (decision.result === 'PASS') {
        this.reserved.put(order.product, decision.reserved);
        this.reservations.put(order.id, { product: order.product, quantity: order.quantity });
      }
    }
    await this.context.forward({ key: order.id, value: { orderId: order.id, checkType: 'INVENTORY_CHECK', validationResult: result }, timestamp, headers });
  }
}

export function inventoryTopology(serdes: TopicSerdes): Topology {
  const builder = new StreamsBuilder();
  builder.table(serdes[Topics.warehouseInventory].topic, serdes[Topics.warehouseInventory], { storeName: inventoryStore });
  builder.addStateStore(Stores.keyValue(reservedStockStore, stringSerde, jsonSerde<number>()));
  builder.addStateStore(Stores.keyValue(reservationsStore, stringSerde, jsonSerde<Reservation>()));
  builder
    .stream(serdes[Topics.orders].topic, serdes[Topics.orders])
    .filter((_id, order: Order | null) => order !== null && order !== undefined)
    .selectKey((_id, order): string => order.product)
    .repartition({ name: 'orders-by-product', serdes: { key: stringSerde, value: jsonSerde<Order>() } })
    .process(() => new StockReservation(), { name: 'reserve-stock', stores: [inventoryStore, reservedStockStore, reservationsStore] })
    .to(serdes[Topics.orderValidations].topic, serdes[Topics.orderValidations]);
  return builder.build();
}
