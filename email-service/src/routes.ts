import type { Customer } from '@ecosystem/avro';
import { HttpError, Router } from '@ecosystem/platform';
import type { KafkaStreams, ReadOnlyKeyValueStore } from 'kstreams';
import type { Mailer } from './mailer.ts';
import { customersStore, type EmailActivity } from './topology.ts';

/**
 * GET /v1/emails/count: what this process sent, skipped and retried, and where emails go.
 * GET /v1/customers/:id: the customer as this instance's global table holds it (which
 *   address an email would go to, which level an order would be routed by).
 */
export function emailRoutes(activity: EmailActivity, mailer: () => Mailer | undefined): (streams: KafkaStreams) => Router {
  return (streams) => {
    const router = new Router();
    router.get('/v1/emails/count', (ctx) => {
      const current = mailer();
      ctx.body = {
        transport: current?.kind,
        destination: current?.destination,
        sent: activity.sent,
        duplicatesSkipped: activity.duplicatesSkipped,
        failedAttempts: activity.failedAttempts,
        rejected: activity.rejected,
        lastFailure: activity.lastFailure ?? null,
      };
    });
    router.get('/v1/customers/:id', async (ctx) => {
      const text = ctx.params.id ?? '';
      if (!/^-?\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new HttpError(400, 'invalid customer id', { fields: { id: 'an integer (the customer id, a long)' } });
      let customers: ReadOnlyKeyValueStore<number, Customer>;
      try {
        customers = streams.globalStore(customersStore);
      } catch {
        throw new HttpError(503, 'the customers table is still loading; retry');
      }
      const customer = await customers.get(Number(text));
      if (!customer) throw new HttpError(404, `customer ${text} is not known (yet) to this instance`);
      ctx.body = customer;
    });
    return router;
  };
}
