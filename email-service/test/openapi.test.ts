import type { KafkaStreams } from 'kstreams';
import { describe, expect, it } from 'vitest';
import { openApiProblems, operationsOf, servedDocument, withDescribedRoutes } from '../../test/support/openapi.ts';
import { emailApi } from '../src/openapi.ts';
import { emailRoutes } from '../src/routes.ts';
import { EmailActivity } from '../src/topology.ts';

const customer = { id: 5, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: '1 Analytical Way', level: 'gold' };
let loaded = false;
const streams = {
  globalStore: () => {
    if (!loaded) throw new Error('loading');
    return { get: async (id: number) => (id === 5 ? customer : undefined) };
  },
} as unknown as KafkaStreams;
const api = { title: 'email-service', ...emailApi };

describe("the email service's /openapi.json", () => {
  it('is valid OpenAPI 3.1 and names every route', async () => {
    const document = await servedDocument(emailRoutes(new EmailActivity(), () => undefined)(streams), api);
    expect(await openApiProblems(document)).toEqual([]);
    expect(operationsOf(document).sort()).toEqual(['GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /ready', 'GET /v1/customers/{id}', 'GET /v1/emails/count']);
  });

  it('describes what its routes answer, errors included', async () => {
    const mailer = { kind: 'outbox' as const, destination: '/tmp/outbox', send: async () => {}, close: async () => {} };
    const router = emailRoutes(new EmailActivity(), () => mailer as never)(streams);
    await withDescribedRoutes(router, api, async (get) => {
      await get('/v1/emails/count', 200);
      await get('/v1/customers/5', 503);
      loaded = true;
      await get('/v1/customers/5', 200);
      await get('/v1/customers/6', 404);
      await get('/v1/customers/five', 400);
    });
  });
});
