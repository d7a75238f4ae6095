import { badRequestBody, errorBody, fraudRowsBody, type ApiDescription, type ApiOperation } from '@ecosystem/platform';
import { instanceFraudPath } from './local-engine.ts';
import { defaultFraudLimit, fraudLimitParameter } from './rules.ts';

const limit = { description: `How many rows at most (default ${defaultFraudLimit}).`, schema: fraudLimitParameter };

const fraudResponses: ApiOperation['responses'] = {
  '200': { description: 'The customers flagged, newest windows first.', body: fraudRowsBody },
  '400': { description: 'An invalid `limit` (named in `fields`).', body: badRequestBody },
  '502': { description: 'Another instance holding part of the table did not answer, or answered wrongly (`instance`).', body: errorBody },
  '503': { description: 'The service is starting, or an instance is rebalancing: retry.', body: errorBody },
};

/** GET /fraud and GET /fraud/instance as OpenAPI. */
export const enrichmentApi: ApiDescription = {
  title: 'order-enrichment',
  description: 'Orders joined with their customers, and the fraud table: per customer, orders in 30-second tumbling windows; more than 2 is fraud.',
  operations: [
    {
      method: 'get',
      path: '/fraud',
      operationId: 'getFraud',
      summary: 'Customers with more than two orders in a 30-second window',
      description: 'For the whole application: with the local engine, this instance asks every other instance for its share.',
      query: { limit },
      responses: fraudResponses,
    },
    {
      method: 'get',
      path: instanceFraudPath,
      operationId: 'getInstanceFraud',
      summary: "The same, for this instance's share only (what the local engine's instances ask each other)",
      query: { limit },
      responses: {
        ...fraudResponses,
        '404': { description: 'The ksqlDB engine has no per-instance share: use GET /fraud.', body: errorBody },
      },
    },
  ],
};
