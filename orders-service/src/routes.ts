import { randomUUID } from 'node:crypto';
import { Topics, type Order, type TopicSerdes } from '@ecosystem/avro';
import { authorizationHeaders, HttpError, instanceUrl, ProducerQueueFullError, readJsonBody, Router, SendAbortedError, type BatchingProducer, type Logger } from '@ecosystem/platform';
import type { KafkaStreams, ReadOnlyKeyValueStore } from 'kstreams';
import type { Context } from 'koa';
import { z } from 'zod';
import type { OrdersApiLimits } from './openapi.ts';
import { parseOrderInput, parseTimeout } from './order-input.ts';
import { ordersStore } from './topology.ts';
import type { OrderWaiters } from './waiters.ts';

export interface OrdersRoutesOptions extends OrdersApiLimits {
  streams: KafkaStreams;
  producer: BatchingProducer;
  serdes: TopicSerdes;
  waiters: OrderWaiters;
  logger: Logger;
  endpoint: string;
  /** Sent with every forwarded request: the owner asks for it like any client's. */
  apiToken?: string | undefined;
}

/**
 * Marks a request that one instance forwarded to another. The receiver answers it itself or
 * refuses it (`x-not-owner`), and never forwards it again: so a request takes one hop at most,
 * whatever the instances believe about ownership during a rebalance. A client can send this
 * header too; all it gets is that refusal, at once, so there is nothing to gain from it.
 */
const forwardedHeader = 'x-forwarded-by';
/** On a forwarded request: what is left of the client's timeout, in milliseconds (it can only shorten the wait). */
const remainingHeader = 'x-remaining-ms';
/** Set on the answer of an instance that is stopping: the request was not taken and may be sent elsewhere. */
const stoppingHeader = 'x-instance-stopping';
/** Set on the answer to a forwarded request for an order this instance does not own (ownership moved): ask the group again. */
const notOwnerHeader = 'x-not-owner';
const remainingMs = z.string().regex(/^\d{1,9}$/).transform(Number);
const isFinal = (order: Order) => order.state === 'VALIDATED' || order.state === 'FAILED';
const anyState = () => true;

/**
 * POST /v1/orders, GET /v1/orders/:id and GET /v1/orders/:id/validated. Every request about
 * an order is answered by the instance owning the order id's partition (it holds the order
 * in its store and sees it first): other instances forward to it. So a client reads its own
 * writes through any instance, and duplicate ids are caught in one place.
 */
export function ordersApi(options: OrdersRoutesOptions): {
  router: Router;
  orderChanged: (id: string, order: Order) => void;
  /** Refuses new requests (with `x-instance-stopping`) and resolves once the orders being created are produced. */
  stop: () => Promise<void>;
  /** Resolves once no order request arrived for `quietMs` (or after `maxMs`): nobody forwards here any more. */
  untilQuiet: (quietMs: number, maxMs: number) => Promise<void>;
  /** POSTs under way and orders not final yet, for /health. */
  load: () => { postsInFlight: number; pendingOrders: number };
  readonly stopping: boolean;
} {
  const { streams, waiters, logger } = options;
  /** Ids this instance produced whose record the store may not show yet. */
  const recentlyCreated = new Map<string, number>();
  /** Orders being checked and produced right now: a stop lets them finish. */
  const creating = new Set<Promise<void>>();
  /** Orders this instance produced whose final state it has not seen yet, with when they were produced. */
  const pendingOrders = new Map<string, number>();
  let postsInFlight = 0;
  let stopping = false;
  let lastArrival = 0;
  const router = new Router();

  const timeoutOf = (ctx: Context): number => {
    const raw = ctx.query.timeout;
    if (raw === undefined) return options.defaultTimeoutMs;
    const value = parseTimeout(raw, options.maxTimeoutMs);
    if (value === undefined) throw new HttpError(400, 'invalid timeout', { fields: { timeout: `milliseconds, an integer from 0 to ${options.maxTimeoutMs}` } });
    return value;
  };

  /**
   * Runs `local` on the owner of `id`, or forwards the request there: to `path` and `query`,
   * which the route built from what it decoded (never the request target as the client sent it,
   * which may be an absolute URL naming another host), at the endpoint the owner advertises in
   * the consumer group.
   */
  async function atOwner(ctx: Context, id: string, deadline: number, request: { path: string; query?: Record<string, string> }, local: () => Promise<void>): Promise<void> {
    lastArrival = Date.now();
    const forwarded = ctx.get(forwardedHeader) !== '';
    for (;;) {
      if (stopping) {
        // Nothing is started here any more: the partitions are about to move. The forwarding
        // instance (or a client) sends the request again, to the next owner.
        ctx.set(stoppingHeader, options.endpoint);
        ctx.set('Retry-After', '1');
        ctx.set('Connection', 'close');
        throw new HttpError(503, 'this instance is stopping; retry', { id });
      }
      const owner = streams.ownerOf(ordersStore, id);
      if (owner.status === 'local') return local();
      if (forwarded) {
        // The sender believed this instance owns the order: ownership moved (or a client sent the header). The sender asks again.
        ctx.set(notOwnerHeader, options.endpoint);
        ctx.set('Retry-After', '1');
        throw new HttpError(503, 'this instance does not own the order (the partitions are moving); retry', { id, reason: owner.status === 'unavailable' ? owner.reason : 'ownership moved' });
      }
      if (owner.status === 'available') {
        const url = owner.endpoint === options.endpoint ? undefined : instanceUrl(owner.endpoint, request.path, request.query);
        if (!url) {
          // A member of the group advertises an address that is not a plain host:port of another instance: never called.
          logger.warn({ endpoint: owner.endpoint, id }, 'the instance owning an order advertises an endpoint that is not host:port; not forwarding');
          ctx.set('Retry-After', '1');
          throw new HttpError(503, 'the instance owning this order advertises an invalid endpoint; retry', { reason: `the owner's endpoint ${JSON.stringify(owner.endpoint)} is not host:port` });
        }
        if (await forward(ctx, url, owner.endpoint, deadline)) return;
      }
      // A rebalance is moving partitions (or the owner refused a forwarded request): ask again shortly.
      if (Date.now() >= deadline) throw new HttpError(503, 'the order store is rebalancing; retry', { reason: owner.status === 'unavailable' ? owner.reason : 'ownership moved' });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /**
   * Forwards the request to the owner; false when the owner did not take it and it may be sent
   * again. An owner that is stopping refuses requests (`x-instance-stopping`), then leaves the
   * group, then closes its HTTP server; until the rebalance the group still names it as the
   * owner, so a refusal or a refused connection means the partitions are about to move, and so
   * does a GET cut off mid-way (a GET can be repeated; a POST cut off after it was sent may have
   * produced the order, so that one stays a 502).
   */
  async function forward(ctx: Context, url: URL, endpoint: string, deadline: number): Promise<boolean> {
    const body = ctx.method === 'POST' ? JSON.stringify(ctx.state.orderBody) : undefined;
    let response: Response;
    try {
      response = await fetch(url, {
        method: ctx.method,
        // The client's own timeout stays in the URL (the owner's 504 names it); the owner waits only for what is left of it.
        headers: {
          ...authorizationHeaders(options.apiToken),
          [forwardedHeader]: options.endpoint,
          [remainingHeader]: String(Math.max(0, deadline - Date.now())),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body } : {}),
        // An instance answers; it never sends this one elsewhere.
        redirect: 'error',
        signal: AbortSignal.timeout(Math.max(1_000, deadline - Date.now() + 2_000)),
      });
    } catch (error) {
      // fetch reports the network error as its cause (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET...).
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
      const code = (cause as { code?: unknown } | undefined)?.code;
      const reason = error instanceof Error ? `${error.message}${cause ? `: ${cause.message}${typeof code === 'string' ? ` (${code})` : ''}` : ''}` : String(error);
      if ((code === 'ECONNREFUSED' || ctx.method === 'GET') && Date.now() < deadline) {
        logger.debug({ endpoint, reason }, 'the owning instance did not take the request; asking for the owner again');
        return false;
      }
      throw new HttpError(502, `the instance owning this order (${endpoint}) did not answer`, { reason });
    }
    if ((response.headers.has(stoppingHeader) || response.headers.has(notOwnerHeader)) && Date.now() < deadline) {
      await response.body?.cancel();
      return false;
    }
    ctx.status = response.status;
    for (const header of ['location', 'retry-after']) {
      const value = response.headers.get(header);
      if (value) ctx.set(header, value);
    }
    ctx.set('x-served-by', response.headers.get('x-served-by') ?? endpoint);
    ctx.body = await response.json().catch(() => ({ error: 'the owning instance answered with an unreadable body' }));
    return true;
  }

  function localStore(id: string): ReadOnlyKeyValueStore<string, Order> {
    const store = streams.localStore<ReadOnlyKeyValueStore<string, Order>>(ordersStore, id);
    if (!store) throw new HttpError(503, 'the order store is restoring; retry');
    return store;
  }

  /** A refusal that costs the client nothing but a retry: nothing was written. */
  function overloaded(ctx: Context, message: string): HttpError {
    ctx.set('Retry-After', '1');
    return new HttpError(503, message, { reason: 'overloaded' });
  }

  router.post('/v1/orders', async (ctx) => {
    // Refused before the body is read: under overload a refusal must cost next to nothing.
    if (postsInFlight >= options.maxPostsInFlight) throw overloaded(ctx, `this instance is handling ${postsInFlight} orders already; retry`);
    postsInFlight += 1;
    try {
      const parsed = parseOrderInput(await readJsonBody(ctx, options.maxBodyBytes));
      if (!parsed.ok) throw new HttpError(400, 'invalid order', { fields: parsed.fields });
      const order: Order = { ...parsed.order, id: parsed.order.id ?? randomUUID() };
      ctx.state.orderBody = order;
      await atOwner(ctx, order.id, Date.now() + options.postTimeoutMs, { path: '/v1/orders' }, () => {
        const creation = create(ctx, order);
        creating.add(creation);
        return creation.finally(() => creating.delete(creation));
      });
    } finally {
      postsInFlight -= 1;
    }
  });

  /** The owner's part of POST /v1/orders: refuses a known id, or more than the pipeline carries, else produces the order. */
  async function create(ctx: Context, order: Order): Promise<void> {
    if (pendingOrders.size >= options.maxPendingOrders) throw overloaded(ctx, `${pendingOrders.size} orders of this instance are still on their way to a final state; retry`);
    if (recentlyCreated.has(order.id) || (await localStore(order.id).get(order.id)) !== undefined) {
      throw new HttpError(409, `order ${order.id} already exists`, { id: order.id });
    }
    recentlyCreated.set(order.id, Date.now());
    try {
      const serdes = options.serdes[Topics.orders];
      await options.producer.send(serdes.topic, { key: serdes.key.serialize(order.id), value: await serdes.value.serialize(order) }, AbortSignal.timeout(options.postTimeoutMs));
    } catch (error) {
      if (error instanceof SendAbortedError && error.sent) {
        // Kept in recentlyCreated: a retry with the same id must not write the order twice.
        pendingOrders.set(order.id, Date.now());
        throw new HttpError(504, `order ${order.id} was sent to Kafka but not acknowledged within ${options.postTimeoutMs} ms: GET /v1/orders/${order.id} tells whether it was written`, { id: order.id });
      }
      recentlyCreated.delete(order.id);
      if (error instanceof SendAbortedError) throw overloaded(ctx, `order ${order.id} could not be sent to Kafka within ${options.postTimeoutMs} ms and was not written; retry`);
      if (error instanceof ProducerQueueFullError) throw overloaded(ctx, 'too many orders are waiting for Kafka; retry');
      throw error;
    }
    pendingOrders.set(order.id, Date.now());
    ctx.status = 201;
    ctx.set('Location', `/v1/orders/${encodeURIComponent(order.id)}`);
    ctx.set('x-served-by', options.endpoint);
    ctx.body = order;
  }

  const getOrder = (accepts: (order: Order) => boolean, what: string, suffix: string) => async (ctx: Context) => {
    const id = ctx.params.id!;
    const timeout = timeoutOf(ctx);
    const remaining = remainingMs.safeParse(ctx.get(remainingHeader));
    const deadline = Date.now() + (remaining.success ? Math.min(timeout, remaining.data) : timeout);
    const path = `/v1/orders/${encodeURIComponent(id)}${suffix}`;
    await atOwner(ctx, id, deadline, { path, ...(ctx.query.timeout !== undefined ? { query: { timeout: String(timeout) } } : {}) }, async () => {
      const store = localStore(id);
      let order = await store.get(id);
      if (!order || !accepts(order)) {
        const aborted = new AbortController();
        ctx.res.once('close', () => aborted.abort());
        // The check and the wait are not atomic: look once more after registering.
        const waiting = waiters.waitFor(id, accepts, deadline - Date.now(), aborted.signal);
        const now = await store.get(id);
        order = now && accepts(now) ? now : await waiting;
        aborted.abort();
      }
      if (!order) {
        const current = await store.get(id);
        throw new HttpError(504, current ? `order ${id} is ${current.state}, not ${what}, after ${timeout} ms` : `order ${id} was not found within ${timeout} ms`, { id, ...(current ? { state: current.state } : {}) });
      }
      ctx.set('x-served-by', options.endpoint);
      ctx.body = order;
    });
  };

  router.get('/v1/orders/:id', getOrder(anyState, 'present', ''));
  router.get('/v1/orders/:id/validated', getOrder(isFinal, 'VALIDATED or FAILED', '/validated'));

  // Produced ids are forgotten once the store shows them, or after a minute whatever happened.
  const sweeper = setInterval(() => {
    const cutoff = Date.now() - 60_000;
    for (const [id, at] of recentlyCreated) if (at < cutoff) recentlyCreated.delete(id);
    for (const [id, at] of pendingOrders) if (at < cutoff) pendingOrders.delete(id);
  }, 10_000);
  sweeper.unref();
  logger.debug({}, 'orders routes ready');
  return {
    router,
    orderChanged(id, order) {
      recentlyCreated.delete(id);
      if (isFinal(order)) pendingOrders.delete(id);
      waiters.notify(id, order);
    },
    async stop() {
      stopping = true;
      await Promise.allSettled([...creating]);
    },
    async untilQuiet(quietMs, maxMs) {
      const deadline = Date.now() + maxMs;
      while (Date.now() - lastArrival < quietMs && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    },
    load: () => ({ postsInFlight, pendingOrders: pendingOrders.size }),
    get stopping() {
      return stopping;
    },
  };
}
