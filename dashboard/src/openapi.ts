import { badRequestBody, errorBody, fraudRowSchema, named, orderBody, type ApiDescription } from '@ecosystem/platform';
import { z } from 'zod';
import { checkNames, type Snapshot } from './snapshot.ts';

const milliseconds = z.number().nullable();

const orderView = z.object({
  id: z.string(),
  state: z.string().describe('CREATED, VALIDATED, FAILED...; `SEEN` while only validations of the order have arrived.'),
  customerId: z.number().optional(),
  product: z.string().optional(),
  quantity: z.number().optional(),
  price: z.number().optional(),
  createdAt: z.number().optional().describe('Timestamp of the CREATED record, epoch milliseconds.'),
  finalAt: z.number().optional().describe('When the dashboard received the VALIDATED or FAILED record.'),
  latencyMs: z.number().optional().describe('finalAt - createdAt: POST -> final state.'),
  checks: z.partialRecord(z.enum(checkNames), z.string()).describe('The result of each check that has arrived.'),
});

const polled = <Row extends z.ZodType>(row: Row) =>
  z.object({
    rows: z.array(row).describe('The latest good rows (empty when never fetched).'),
    error: z.string().optional().describe('Why the last poll failed.'),
    at: z.number().describe('When the rows were fetched, epoch milliseconds; 0 when never.'),
  });

/** The snapshot the page gets over GET /events and GET /api/snapshot, held to its TypeScript type. */
export const snapshotSchema = z
  .object({
    at: z.number(),
    products: z.array(z.string()).describe('What the form offers (the Avro enum of products).'),
    flow: z.object({
      totals: z.object({ created: z.number(), validated: z.number(), failed: z.number() }),
      perSecond: z.array(
        z.object({ at: z.number(), created: z.number(), validated: z.number(), failed: z.number(), p50Ms: milliseconds, p99Ms: milliseconds }),
      ),
      latency: z.object({ count: z.number(), p50Ms: milliseconds, p95Ms: milliseconds, p99Ms: milliseconds }),
      recent: z.array(orderView).describe('The newest orders, newest first.'),
      placed: z.array(orderView).describe("Orders placed through the page's form, newest first."),
    }),
    stock: polled(z.object({ product: z.string(), stock: z.number(), reserved: z.number() })),
    fraud: polled(fraudRowSchema),
    lag: polled(z.object({ service: z.string(), groupId: z.string(), lag: z.number().nullable() })),
  })
  .describe('What the dashboard knows: the order flow over the last minute, stock, fraud flags and consumer lag.') satisfies z.ZodType<Snapshot>;

/** The dashboard's HTTP routes as OpenAPI. */
export const dashboardApi: ApiDescription = {
  title: 'dashboard',
  description: 'The live web dashboard: the page, its server-sent events, and the form that places orders through the orders API.',
  operations: [
    {
      method: 'get',
      path: '/',
      operationId: 'page',
      summary: 'The page',
      responses: { '200': { description: 'The dashboard (HTML).', mediaType: 'text/html', body: z.string() } },
    },
    {
      method: 'get',
      path: '/assets/:file',
      operationId: 'asset',
      summary: "The page's scripts and styles (vite's hashed bundles, cached for good)",
      params: { file: { description: 'A file name of the build.', schema: z.string().regex(/^[\w.-]+$/) } },
      responses: {
        '200': { description: 'The file, with the media type of its extension.', mediaType: '*/*' },
        '404': { description: 'No such file.', body: errorBody },
      },
    },
    {
      method: 'get',
      path: '/events',
      operationId: 'events',
      summary: 'The live feed (server-sent events)',
      description:
        'A `snapshot` event at once and every second (a Snapshot as JSON on its `data:` line), and an `orders` event within 200 ms of a new order.',
      responses: {
        '200': { description: 'An endless event stream. A page that reads slowly gets only the newest event of each kind.', mediaType: 'text/event-stream', body: z.string() },
        '503': {
          description: 'DASHBOARD_MAX_CLIENTS pages are fed already: retry later.',
          body: errorBody,
          headers: { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: z.string() } },
        },
      },
    },
    {
      method: 'get',
      path: '/api/snapshot',
      operationId: 'snapshot',
      summary: 'What the live feed sends, once',
      responses: { '200': { description: 'The current snapshot.', body: named('Snapshot', snapshotSchema) } },
    },
    {
      method: 'post',
      path: '/api/orders',
      operationId: 'placeOrder',
      summary: 'Place an order through the orders API (the form)',
      description: "Forwarded to POST /v1/orders of the orders service; its answer, status and body, is the dashboard's.",
      requestBody: { description: 'An order, as POST /v1/orders takes it (the orders service checks it).', schema: z.looseObject({}) },
      responses: {
        '201': { description: 'Accepted by the orders service.', body: orderBody },
        '400': { description: 'Not JSON, or refused by the orders service: `fields` names each field at fault.', body: badRequestBody },
        '502': { description: 'The orders service did not answer.', body: errorBody },
        default: { description: "Another answer of the orders service (409, 503...), relayed.", body: errorBody },
      },
    },
  ],
};
