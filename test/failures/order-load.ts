import { Topics, type Order } from '@ecosystem/avro';
import { KafkaCluster } from '@ecosystem/infra';
import { reservedUnits } from '../e2e/final-states.ts';
import { TestSystem } from '../e2e/system.ts';
import { eventually } from '../support/eventually.ts';
import { openTransactions } from './open-transactions.ts';

/** What a client posts. */
export type OrderRequest = {
  customerId: number;
  product: string;
  quantity: number;
  price: number;
};

export type AcceptedOrder = OrderRequest & { id: string };

const products = ['JUMPERS', 'UNDERPANTS', 'STOCKINGS'];

/** Orders that all validate when stock is ample: a new customer each, 1-3 units at price 1, the products in turn. */
export function steadyOrders(firstCustomer: number): (index: number) => OrderRequest {
  return (index) => ({ customerId: firstCustomer + index, product: products[index % products.length]!, quantity: 1 + (index % 3), price: 1 });
}

/** The five pipeline services on a private cluster of `brokers` nodes, with ample stock, and a load to drive them. */
export interface PipelineOnPrivateCluster {
  cluster: KafkaCluster;
  system: TestSystem;
  load: OrderLoad;
  /** Stops the load, the services (deleting their topics) and the cluster. */
  stop(): Promise<void>;
}

export async function startPipelineOnPrivateCluster(brokers: number): Promise<PipelineOnPrivateCluster> {
  const cluster = await KafkaCluster.start({ brokers });
  const system = await TestSystem.start({ brokers: cluster.brokers }).catch(async (error: unknown) => {
    await cluster.destroy();
    throw error;
  });
  await system.putStock(Object.fromEntries(products.map((product) => [product, 1_000_000])));
  const load = new OrderLoad(system, steadyOrders(10_000));
  return {
    cluster,
    system,
    load,
    async stop() {
      await load.stop();
      await system.stop().catch(() => undefined);
      await cluster.destroy();
    },
  };
}

/**
 * Posts orders open-loop at a steady rate, as clients would, whether or not earlier requests
 * have answered: a broker outage shows as slow or failed requests, not as a paused test.
 * Counts what the API said; only a 201 makes an order "accepted".
 */
export class OrderLoad {
  readonly accepted: AcceptedOrder[] = [];
  /** Answers other than 201 (5xx while the broker is away), and requests that failed or timed out. */
  readonly refused = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private index = 0;

  constructor(
    private readonly system: TestSystem,
    /** The order to post `index`-th (from 0). */
    private readonly orderAt: (index: number) => OrderRequest,
    private readonly maxInFlight = 200,
  ) {}

  start(perSecond: number): void {
    // A round that failed part-way left its timer running; one load posts at one rate.
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.inFlight.size < this.maxInFlight) void this.postOne();
    }, 1_000 / perSecond);
  }

  /** One order; resolves with its id if the API accepted it. */
  postOne(): Promise<string | undefined> {
    const index = this.index++;
    const order = this.orderAt(index);
    const request = this.system
      .postOrder(order)
      .then(({ status, body }) => {
        if (status !== 201) {
          this.count(String(status));
          return undefined;
        }
        const id = body.id as string;
        this.accepted.push({ ...order, id });
        return id;
      })
      .catch((error: unknown) => {
        this.count(error instanceof Error ? error.name : 'error');
        return undefined;
      });
    const settled = request.then(() => undefined);
    this.inFlight.add(settled);
    void settled.finally(() => this.inFlight.delete(settled));
    return request;
  }

  private count(outcome: string): void {
    this.refused.set(outcome, (this.refused.get(outcome) ?? 0) + 1);
  }

  /** Waits until `count` more orders are accepted than when it was called: faults land while orders flow, not after a fixed time. */
  async acceptedMore(count: number, what: string, timeoutMs = 60_000): Promise<void> {
    const from = this.accepted.length;
    await eventually(() => this.accepted.length - from >= count, what, timeoutMs);
  }

  /** Stops posting and waits for the requests still in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }
}

/**
 * Milliseconds from `since` until the pipeline works end to end again: an order posted now is
 * accepted and reaches its final state.
 */
export async function timeUntilValidated(system: TestSystem, load: OrderLoad, since: number, timeoutMs = 90_000): Promise<number> {
  const deadline = since + timeoutMs;
  for (;;) {
    const id = await load.postOne();
    if (id !== undefined) {
      for (;;) {
        // 503 while the orders view rebalances, 504 when the wait ran out: ask again until the deadline.
        const { status, body } = await system.getOrder(id, { validated: true, timeoutMs: Math.min(60_000, Math.max(1_000, deadline - Date.now())) });
        if (status === 200 && body.state === 'VALIDATED') return Date.now() - since;
        if ((status !== 503 && status !== 504) || Date.now() > deadline) throw new Error(`order ${id} accepted after the broker came back did not validate: ${status} ${JSON.stringify(body)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    if (Date.now() > deadline) throw new Error(`no order was accepted within ${timeoutMs} ms of the broker coming back`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface Outcome {
  /** Final states of every accepted order, in topic order. */
  finals: Map<string, string[]>;
  /** Orders anywhere on orders.v1 (also ones whose POST failed yet was written) with more than one final state, with their whole history. */
  finalizedTwice: Array<[string, string[]]>;
  /** Orders on orders.v1 (accepted or not) with no final state, when the read was asked to wait for every order on the topic. */
  unfinished: string[];
  /** Units of VALIDATED orders per product, from orders.v1. */
  validatedUnits: Record<string, number>;
  /** What the inventory service has reserved per product. */
  reservedUnits: Record<string, number>;
  /** How long the pipeline took to finish the backlog after the load stopped. */
  drainMs: number;
}

/**
 * Reads every record of orders.v1 (committed ones only) until each accepted order has a
 * final state, and the inventory service's reservations. An order whose POST failed while
 * the broker was away may still have been written: it is judged with the others. With
 * `everyOrder`, the read waits for every order on the topic, accepted or not, to have a final
 * state (those left without one are `unfinished`).
 */
export async function outcome(system: TestSystem, accepted: AcceptedOrder[], timeoutMs = 90_000, { everyOrder = false } = {}): Promise<Outcome> {
  const started = Date.now();
  const serdes = system.serdes[Topics.orders];
  // The orders accepted so far: a load still posting must not add orders this read never waited for.
  const orders = [...accepted];
  const wanted = new Set(orders.map((order) => order.id));
  let latest: Array<{ key: string; value: Order }> = [];
  const unfinished = (seen: Array<{ key: string; value: Order }>) => {
    const final = new Set(seen.filter(({ value }) => value.state !== 'CREATED').map(({ key }) => key));
    const waitingFor = everyOrder ? new Set([...wanted, ...seen.map(({ key }) => key)]) : wanted;
    return [...waitingFor].filter((id) => !final.has(id));
  };
  const records = await system
    .read<Order>(
      serdes.topic,
      (value) => serdes.value.deserialize(value),
      (seen) => {
        latest = seen;
        return unfinished(seen).length === 0;
      },
      timeoutMs,
    )
    .catch(async (error: unknown) => {
      const missing = unfinished(latest);
      const transactions = await openTransactions(system.kafka, [serdes.topic, system.serdes[Topics.orderValidations].topic]);
      const warnings = system.processes.map(({ service, output }) => `${service}:\n${output.join('').split('\n').filter((line) => !/ECONNREFUSED/.test(line)).slice(-15).join('\n')}`);
      const seen = missing.slice(0, 5).map((id) => `${id}: ${latest.filter(({ key }) => key === id).map(({ value }) => value.state).join(',') || 'not on the topic'}`);
      throw new Error(`${String(error)}; ${missing.length} ${everyOrder ? '' : 'accepted '}orders without a final state, e.g. ${seen.join('; ')}\nopen transactions: ${transactions.join('; ') || 'none'}\n${warnings.join('\n')}`);
    });
  const drainMs = Date.now() - started;
  const all = new Map<string, string[]>();
  const histories = new Map<string, string[]>();
  const validatedUnits: Record<string, number> = {};
  for (const { key, value } of records) {
    histories.set(key, [...(histories.get(key) ?? []), value.state]);
    if (value.state === 'CREATED') continue;
    all.set(key, [...(all.get(key) ?? []), value.state]);
    if (value.state === 'VALIDATED') validatedUnits[value.product] = (validatedUnits[value.product] ?? 0) + value.quantity;
  }
  return {
    finals: new Map(orders.map(({ id }) => [id, all.get(id) ?? []])),
    unfinished: everyOrder ? unfinished(records) : [],
    finalizedTwice: [...all].filter(([, states]) => states.length !== 1).map(([id]) => [id, histories.get(id)!]),
    validatedUnits,
    reservedUnits: await settledReservations(system, validatedUnits),
    drainMs,
  };
}

/**
 * What the inventory has reserved, once it has caught up: it releases a FAILED order's units
 * only after the verdict is on orders.v1 (and a restarted instance first restores its stores),
 * so right after the last verdict it may still be a little behind. A reservation lost or
 * counted twice stays wrong, so whatever it still says after `settleMs` is the answer.
 */
async function settledReservations(system: TestSystem, validatedUnits: Record<string, number>, settleMs = 30_000): Promise<Record<string, number>> {
  const nonZero = (units: Record<string, number>) => Object.fromEntries(Object.entries(units).filter(([, count]) => count !== 0));
  const matches = (reserved: Record<string, number>) => JSON.stringify(Object.entries(reserved).sort()) === JSON.stringify(Object.entries(nonZero(validatedUnits)).sort());
  let latest: Record<string, number> = {};
  await eventually(async () => matches((latest = nonZero(await reservedUnits(system)))), 'the reservations to match the validated units', settleMs).catch(() => undefined);
  return latest;
}
