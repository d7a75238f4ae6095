import { expect } from 'vitest';
import { Topics, type Order } from '@ecosystem/avro';
import { KafkaCluster } from '@ecosystem/infra';
import { reservedUnits } from '../e2e/final-states.ts';
import { TestSystem } from '../e2e/system.ts';
import { eventually } from '../support/eventually.ts';

export interface AcceptedOrder {
  id: string;
  product: string;
  quantity: number;
}

const products = ['JUMPERS', 'UNDERPANTS', 'STOCKINGS'];

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
  const load = new OrderLoad(system, 10_000);
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
    private readonly firstCustomer: number,
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
    const order = { customerId: this.firstCustomer + index, product: products[index % products.length]!, quantity: 1 + (index % 3), price: 1 };
    const request = this.system
      .postOrder(order)
      .then(({ status, body }) => {
        if (status !== 201) {
          this.count(String(status));
          return undefined;
        }
        const id = body.id as string;
        this.accepted.push({ id, product: order.product, quantity: order.quantity });
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
 * the broker was away may still have been written: it is judged with the others.
 */
export async function outcome(system: TestSystem, accepted: AcceptedOrder[], timeoutMs = 90_000): Promise<Outcome> {
  const started = Date.now();
  const serdes = system.serdes[Topics.orders];
  // The orders accepted so far: a load still posting must not add orders this read never waited for.
  const orders = [...accepted];
  const wanted = new Set(orders.map((order) => order.id));
  let latest: Array<{ key: string; value: Order }> = [];
  const unfinished = (seen: Array<{ key: string; value: Order }>) => {
    const final = new Set(seen.filter(({ value }) => value.state !== 'CREATED').map(({ key }) => key));
    return [...wanted].filter((id) => !final.has(id));
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
    .catch((error: unknown) => {
      const missing = unfinished(latest);
      const warnings = system.processes.map(({ service, output }) => `${service}:\n${output.join('').split('\n').filter((line) => !/ECONNREFUSED/.test(line)).slice(-15).join('\n')}`);
      const seen = missing.slice(0, 5).map((id) => `${id}: ${latest.filter(({ key }) => key === id).map(({ value }) => value.state).join(',') || 'not on the topic'}`);
      throw new Error(`${String(error)}; ${missing.length} accepted orders without a final state, e.g. ${seen.join('; ')}\n${warnings.join('\n')}`);
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
    finalizedTwice: [...all].filter(([, states]) => states.length !== 1).map(([id]) => [id, histories.get(id)!]),
    validatedUnits,
    reservedUnits: Object.fromEntries(Object.entries(await reservedUnits(system)).filter(([, units]) => units !== 0)),
    drainMs,
  };
}

/**
 * One round of a broker outage under load: orders at 20/s, `takeDown` once 60 are accepted,
 * the broker back 4 s later; then every order the API accepted must end VALIDATED exactly once, and the
 * inventory must have reserved exactly the validated units. Orders refused meanwhile are fine.
 */
export async function brokerOutageRound({ cluster, system, load }: PipelineOnPrivateCluster, how: string, takeDown: () => Promise<void>): Promise<void> {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const started = Date.now();
  const before = load.accepted.length;
  load.start(20);
  let down = 0;
  let back = 0;
  let recoveryMs = 0;
  try {
    await load.acceptedMore(60, 'orders to flow before the broker goes down');
    await takeDown();
    down = Date.now();
    // How long the broker stays down is what the round is about.
    await pause(4_000);
    await cluster.startBroker(1);
    back = Date.now();
    recoveryMs = await timeUntilValidated(system, load, back);
    await load.acceptedMore(60, 'orders to flow after the broker came back');
  } finally {
    await load.stop();
  }

  const result = await outcome(system, load.accepted);
  console.log(
    `broker ${how}: down ${((back - down) / 1000).toFixed(1)} s; accepted ${load.accepted.length - before} this round (${load.accepted.length} in all), ` +
      `refused ${JSON.stringify(Object.fromEntries(load.refused))}; first order after the broker came back validated in ${(recoveryMs / 1000).toFixed(1)} s; ` +
      `backlog finished ${(result.drainMs / 1000).toFixed(1)} s after the load stopped; round took ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  expect(load.accepted.length - before).toBeGreaterThan(60);
  expect([...result.finals].filter(([, states]) => states.length !== 1 || states[0] !== 'VALIDATED')).toEqual([]);
  expect(result.finalizedTwice).toEqual([]);
  expect(result.reservedUnits).toEqual(result.validatedUnits);
}
