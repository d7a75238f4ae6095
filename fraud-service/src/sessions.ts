import type { OrderValue } from '@ecosystem/avro';
import { Router } from '@ecosystem/platform';
import type { KafkaStreams, ReadOnlySessionStore, Session } from 'kstreams';
import type { FraudSessionsAnswer, FraudSessionRow } from './openapi.ts';
import type { FraudSettings } from './config.ts';
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
 * GET /v1/fraud-sessions: the current session of every customer, from this instance's session
 * stores (an interactive query). A customer lives in one task; with several instances each
 * answers for the customers of its own tasks (`tasks`), as inventory's GET /v1/stock does.
 */
export function fraudSessionRoutes(settings: Pick<FraudSettings, 'sessionGapMs' | 'threshold'>, now: () => number = Date.now) {
  return (streams: KafkaStreams): Router => {
    const router = new Router();
    router.get('/v1/fraud-sessions', async (ctx) => {
      if (!streams.isReady) {
        ctx.status = 503;
        ctx.set('Retry-After', '1');
        ctx.body = { error: 'the fraud service is not ready: its session stores are being assigned or restored' };
        return;
      }
      const at = now();
      const found: Array<Session<OrderValue> & { key: number }> = [];
      for (const store of streams.localStores<ReadOnlySessionStore<number, OrderValue>>(sessionStoreName)) {
        for await (const session of store.fetchAll(at - settings.sessionGapMs)) found.push(session);
      }
      const answer: FraudSessionsAnswer = { asOf: at, sessionGapMs: settings.sessionGapMs, threshold: settings.threshold, tasks: streams.assignedTasks, sessions: currentSessions(found, at, settings.sessionGapMs) };
      ctx.body = answer;
    });
    return router;
  };
}
