import type { OrderValue } from '@ecosystem/avro';
import { askInstance, authorizationHeaders, HttpError, Router } from '@ecosystem/platform';
import type { KafkaStreams, ReadOnlySessionStore, Session } from 'kstreams';
import type { FraudSettings } from './config.ts';
import { fraudSessionsAnswerSchema, type FraudSessionRow, type FraudSessionsAnswer } from './openapi.ts';
import { sessionStoreName } from './topology.ts';

/**
 * The fraud session of each customer that an order placed `now` would still join (it ended less
 * than a gap ago), its latest when the store holds several: what a load generator needs to keep
 * honest customers under the threshold. Ordered by customer id.
 */
export function currentSessions(sessions: Iterable<Session<OrderValue> & { key: number }>, now: number, sessionGapMs: number): FraudSessionRow[] {
  const latest = new Map<number, Session<OrderValue>>();
  for (const session of sessions) {
    if (now - session.end >= sessionGapMs) continue;
    const seen = latest.get(session.key);
    if (!seen || session.end > seen.end) latest.set(session.key, session);
  }
  return [...latest]
    .sort(([a], [b]) => a - b)
    .map(([customerId, { start, end, value }]) => ({ customerId, start, end, total: value.value, lastOrderId: value.order.id }));
}

/**
 * The answers of every instance as one: all their tasks and sessions, a customer's latest session
 * when two instances name it (its partition moved between their reads), by customer id.
 */
export function mergeAnswers(answers: readonly FraudSessionsAnswer[]): FraudSessionsAnswer {
  const [first] = answers;
  if (!first) throw new Error('no answer to merge');
  const latest = new Map<number, FraudSessionRow>();
  for (const row of answers.flatMap((answer) => answer.sessions)) {
    const seen = latest.get(row.customerId);
    if (!seen || row.end > seen.end) latest.set(row.customerId, row);
  }
  return {
    asOf: first.asOf,
    sessionGapMs: first.sessionGapMs,
    threshold: first.threshold,
    tasks: [...new Set(answers.flatMap((answer) => answer.tasks))].sort(),
    sessions: [...latest.values()].sort((a, b) => a.customerId - b.customerId),
  };
}

export interface FraudSessionRouteOptions extends Pick<FraudSettings, 'sessionGapMs' | 'threshold'> {
  /** This instance's advertised host:port: the others of the group are asked for theirs. */
  endpoint?: string | undefined;
  /** Sent with the requests to the other instances, which ask for it like any client's. */
  apiToken?: string | undefined;
}

/**
 * GET /v1/fraud-sessions: the current session of every customer, an interactive query of the
 * session stores. A customer lives in one task; this instance answers for its own tasks and asks
 * every other instance of the group (their advertised endpoints) for theirs with
 * `?scope=instance`, so one request sees every customer however many instances run.
 */
export function fraudSessionRoutes(options: FraudSessionRouteOptions, now: () => number = Date.now) {
  return (streams: KafkaStreams): Router => {
    const router = new Router();

    async function localAnswer(at: number): Promise<FraudSessionsAnswer> {
      const found: Array<Session<OrderValue> & { key: number }> = [];
      for (const store of streams.localStores<ReadOnlySessionStore<number, OrderValue>>(sessionStoreName)) {
        for await (const session of store.fetchAll(at - options.sessionGapMs)) found.push(session);
      }
      return { asOf: at, sessionGapMs: options.sessionGapMs, threshold: options.threshold, tasks: streams.assignedTasks, sessions: currentSessions(found, at, options.sessionGapMs) };
    }

    async function remoteAnswer(endpoint: string): Promise<FraudSessionsAnswer> {
      const body = await askInstance(endpoint, '/v1/fraud-sessions', { who: 'an instance of the fraud service', timeoutMs: 3_000, query: { scope: 'instance' }, headers: authorizationHeaders(options.apiToken) });
      const answer = fraudSessionsAnswerSchema.safeParse(body);
      if (!answer.success) throw new HttpError(502, 'an instance of the fraud service answered sessions of an unexpected shape', { instance: endpoint });
      return answer.data;
    }

    router.get('/v1/fraud-sessions', async (ctx) => {
      const scope = ctx.query.scope ?? 'all';
      if (scope !== 'all' && scope !== 'instance') throw new HttpError(400, 'invalid scope', { fields: { scope: 'all (every instance, the default) or instance (this one)' } });
      if (!streams.isReady) {
        ctx.set('Retry-After', '1');
        throw new HttpError(503, 'the fraud service is not ready: its session stores are being assigned or restored');
      }
      const local = await localAnswer(now());
      const others = scope === 'all' ? streams.endpoints().filter((endpoint) => endpoint !== '' && endpoint !== options.endpoint) : [];
      if (others.length === 0) {
        ctx.body = local;
        return;
      }
      try {
        ctx.body = mergeAnswers([local, ...(await Promise.all(others.map(remoteAnswer)))]);
      } catch (error) {
        if (error instanceof HttpError && error.status === 503) ctx.set('Retry-After', '1');
        throw error;
      }
    });
    return router;
  };
}
