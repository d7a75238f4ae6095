import { HttpError, Router } from '@ecosystem/platform';
import type { Context } from 'koa';
import type { FraudEngine } from './engine.ts';
import { instanceFraudPath } from './local-engine.ts';
import { parseFraudLimit } from './rules.ts';

/**
 * GET /fraud?limit=n: customers with more than 2 orders in a 30-second window, newest windows
 * first, for the whole application. GET /fraud/instance is the same for this instance only:
 * what the local engine's instances ask each other (the ksqlDB engine has no such share).
 */
export function fraudRoutes(engine: () => FraudEngine | undefined): Router {
  const router = new Router();
  const running = (): FraudEngine => {
    const current = engine();
    if (!current) throw new HttpError(503, 'the service is starting; retry');
    return current;
  };
  const limitOf = (ctx: Context): number => {
    const parsed = parseFraudLimit(ctx.query.limit);
    if (!parsed.ok) throw new HttpError(400, 'invalid limit', { fields: { limit: parsed.problem } });
    return parsed.limit;
  };
  router.get('/fraud', async (ctx) => {
    const limit = limitOf(ctx);
    ctx.body = await running().fraud(limit);
  });
  router.get(instanceFraudPath, async (ctx) => {
    const limit = limitOf(ctx);
    const current = running();
    if (!current.instanceFraud) throw new HttpError(404, `the ${current.kind} engine has no per-instance share: use GET /fraud`);
    ctx.body = await current.instanceFraud(limit);
  });
  return router;
}
