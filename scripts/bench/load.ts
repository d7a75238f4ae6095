/**
 * One benchmark step: orders posted open loop at a fixed rate, or closed loop by N clients
 * as fast as they can, each followed at once by a GET of the same order (read-your-writes);
 * the final state of each order is seen by a Kafka consumer on orders.v1.
 */
import { randomUUID } from 'node:crypto';
import { Topics, productSymbols, type TopicSerdes } from '@ecosystem/avro';
import { authorizationHeaders } from '@ecosystem/platform';
import { followTopics, type KafkaClients, type TopicReader } from 'kstreams';
import { summarize, type LatencySummary } from './stats.ts';

/** What happened to one posted order, in performance.now() milliseconds of this process. */
interface OrderTiming {
  sentAt: number;
  createdAt?: number;
  finalAt?: number;
  state?: string;
}

/**
 * A reader of orders.v1 (committed records only, so it sees what the services committed): it
 * stamps the moment the final record of a tracked order arrives. One fetch stream serves every
 * order, where a /validated long-poll per order would double the requests the orders service answers.
 */
export class FinalStateWatcher {
  readonly tracked = new Map<string, OrderTiming>();
  private reader: TopicReader | undefined;

  static async start(kafka: KafkaClients, serdes: TopicSerdes[typeof Topics.orders]): Promise<FinalStateWatcher> {
    const watcher = new FinalStateWatcher();
    // From the end: the tracked orders are all posted once the end positions are taken.
    watcher.reader = await followTopics(kafka, [serdes.topic], { from: 'end', name: `bench-final-states-${randomUUID()}` }, async (_topic, _partition, records) => {
      const arrivedAt = performance.now();
      for (const record of records) {
        const timing = record.key ? watcher.tracked.get(record.key.toString()) : undefined;
        if (!timing || timing.finalAt !== undefined || !record.value) continue;
        const { state } = await serdes.value.deserialize(record.value);
        if (state === 'CREATED') continue;
        timing.finalAt = arrivedAt;
        timing.state = state;
      }
    });
    return watcher;
  }

  async stop(): Promise<void> {
    await this.reader?.close();
  }
}

export interface StepOptions {
  label: string;
  baseUrl: string;
  /** API_TOKEN of the orders API, when it asks for one. */
  apiToken?: string | undefined;
  /** Orders per second (open loop), or undefined with `clients` for a closed loop. */
  rate?: number;
  clients?: number;
  durationMs: number;
  /** How long to wait after the last POST for the outstanding final states. */
  drainMs: number;
  watcher: FinalStateWatcher;
  /** Set when the run is interrupted: the step ends early. */
  stopped: () => boolean;
}

export interface StepResult {
  label: string;
  targetRate: number | null;
  clients: number | null;
  posted: number;
  created: number;
  postErrors: number;
  finals: number;
  /** Created orders whose final state did not arrive within the drain time. */
  missing: number;
  states: Record<string, number>;
  /** POSTs sent per second while posting. */
  offeredPerSecond: number;
  /** Final states per second, from the first POST to the last final state. */
  finalsPerSecond: number;
  postResponse: LatencySummary;
  postToFinal: LatencySummary;
  readYourWrites: LatencySummary & { non200: number };
}

let orderNumber = 0;

/** Small orders of many customers: the fraud check passes and, with enough stock, every order validates. */
function nextOrder(): { id: string; customerId: number; product: string; quantity: number; price: number } {
  orderNumber += 1;
  return { id: randomUUID(), customerId: 1_000_000 + orderNumber, product: productSymbols[orderNumber % productSymbols.length]!, quantity: 1, price: 1 };
}

export async function runStep(options: StepOptions): Promise<StepResult> {
  const timings: OrderTiming[] = [];
  const ids: string[] = [];
  const postResponse: number[] = [];
  const readYourWrites: number[] = [];
  let postErrors = 0;
  let non200 = 0;
  const authorization = authorizationHeaders(options.apiToken);

  const placeOrder = async () => {
    const order = nextOrder();
    const timing: OrderTiming = { sentAt: performance.now() };
    // Tracked before the POST: the final state may arrive before the POST's answer does.
    options.watcher.tracked.set(order.id, timing);
    timings.push(timing);
    ids.push(order.id);
    try {
      const response = await fetch(`${options.baseUrl}/v1/orders`, { method: 'POST', headers: { ...authorization, 'content-type': 'application/json' }, body: JSON.stringify(order) });
      await response.arrayBuffer();
      if (response.status !== 201) {
        postErrors += 1;
        return;
      }
      timing.createdAt = performance.now();
      postResponse.push(timing.createdAt - timing.sentAt);
      const read = await fetch(`${options.baseUrl}/v1/orders/${order.id}?timeout=5000`, { headers: authorization });
      await read.arrayBuffer();
      readYourWrites.push(performance.now() - timing.createdAt);
      if (read.status !== 200) non200 += 1;
    } catch {
      postErrors += 1;
    }
  };

  const started = performance.now();
  const postingEnds = started + options.durationMs;
  const posting = () => performance.now() < postingEnds && !options.stopped();
  if (options.rate !== undefined) {
    const inFlight = new Set<Promise<void>>();
    for (let index = 0; posting(); index += 1) {
      const wait = started + (index * 1_000) / options.rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!posting()) break;
      const request = placeOrder().finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    await Promise.all(inFlight);
  } else {
    await Promise.all(Array.from({ length: options.clients ?? 1 }, async () => {
      while (posting()) await placeOrder();
    }));
  }
  const postingSeconds = (performance.now() - started) / 1_000;

  const created = timings.filter((timing) => timing.createdAt !== undefined);
  const drainEnds = performance.now() + options.drainMs;
  while (created.some((timing) => timing.finalAt === undefined) && performance.now() < drainEnds && !options.stopped()) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const finals = timings.filter((timing) => timing.finalAt !== undefined);
  for (const id of ids) options.watcher.tracked.delete(id);

  const states: Record<string, number> = {};
  for (const { state } of finals) states[state!] = (states[state!] ?? 0) + 1;
  const lastFinal = Math.max(...finals.map((timing) => timing.finalAt!));
  return {
    label: options.label,
    targetRate: options.rate ?? null,
    clients: options.rate === undefined ? (options.clients ?? 1) : null,
    posted: timings.length,
    created: created.length,
    postErrors,
    finals: finals.length,
    missing: created.filter((timing) => timing.finalAt === undefined).length,
    states,
    offeredPerSecond: timings.length / postingSeconds,
    finalsPerSecond: finals.length === 0 ? 0 : finals.length / ((lastFinal - started) / 1_000),
    postResponse: summarize(postResponse),
    postToFinal: summarize(finals.map((timing) => timing.finalAt! - timing.sentAt)),
    readYourWrites: { ...summarize(readYourWrites), non200 },
  };
}
