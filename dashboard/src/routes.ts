import { authorizationHeaders, HttpError, readJsonBody, Router } from '@ecosystem/platform';
import type { EventHub } from './events.ts';
import { formatEvent } from './events.ts';
import type { Snapshot } from './snapshot.ts';
import { describeFetchError } from './sources.ts';

export interface DashboardRoutesOptions {
  events: EventHub;
  snapshot: () => Snapshot;
  ordersUrl: string;
  /** API_TOKEN of the orders API, when it asks for one. */
  ordersToken?: string | undefined;
  /** Called with the id of an order the orders service accepted through the page. */
  placed: (id: string) => void;
}

const maxOrderBytes = 16 * 1024;

/** GET /events (the live feed), GET /api/snapshot (the same, once), POST /api/orders (the form, forwarded to the orders service). */
export function dashboardRoutes({ events, snapshot, ordersUrl, ordersToken, placed }: DashboardRoutesOptions): Router {
  const router = new Router();
  router.get('/events', (ctx) => events.attach(ctx, formatEvent('snapshot', snapshot())));
  router.get('/api/snapshot', (ctx) => {
    ctx.body = snapshot();
  });
  router.post('/api/orders', async (ctx) => {
    const order = await readJsonBody(ctx, maxOrderBytes);
    const target = new URL('/v1/orders', ordersUrl).toString();
    let response: Response;
    try {
      response = await fetch(target, { method: 'POST', headers: { ...authorizationHeaders(ordersToken), 'content-type': 'application/json' }, body: JSON.stringify(order), signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new HttpError(502, `the orders service at ${ordersUrl} did not answer`, { reason: describeFetchError(error) });
    }
    const text = await response.text();
    let answer: unknown;
    try {
      answer = JSON.parse(text) as unknown;
    } catch {
      answer = { error: text };
    }
    if (response.status === 201 && typeof answer === 'object' && answer !== null && 'id' in answer && typeof answer.id === 'string') placed(answer.id);
    // The orders service's own answer, 400s naming the bad fields included.
    ctx.status = response.status;
    ctx.body = answer;
  });
  return router;
}
