import { createHttpServer, createLogger, Router, type HttpServer } from '@ecosystem/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventHub } from '../src/events.ts';
import { dashboardRoutes } from '../src/routes.ts';
import type { Snapshot } from '../src/snapshot.ts';

const token = 'the-orders-api-token-0123456789';
const logger = createLogger('orders-form-test', 'silent');

describe("the dashboard's order form", () => {
  const servers: HttpServer[] = [];
  let dashboard: string;
  const placed: string[] = [];

  beforeAll(async () => {
    // Stands for the orders API with API_TOKEN set.
    const orders = new Router();
    orders.post('/v1/orders', (ctx) => {
      ctx.status = 201;
      ctx.body = { id: 'order-1' };
    });
    const ordersApi = createHttpServer({ logger, router: orders, isReady: () => true, apiToken: token, protectReads: true });
    const ordersUrl = `http://127.0.0.1:${await ordersApi.listen(0)}`;
    const routes = dashboardRoutes({ events: new EventHub(), snapshot: () => ({}) as Snapshot, ordersUrl, ordersToken: token, placed: (id) => placed.push(id) });
    const server = createHttpServer({ logger, router: routes, isReady: () => true, apiToken: token, protectReads: true });
    dashboard = `http://127.0.0.1:${await server.listen(0)}`;
    servers.push(ordersApi, server);
  });
  afterAll(() => Promise.all(servers.map((server) => server.close())));

  it('needs the token itself, and sends it to the orders API', async () => {
    const order = { method: 'POST', body: JSON.stringify({ customerId: 1 }) };
    expect((await fetch(`${dashboard}/api/orders`, { ...order, headers: { 'content-type': 'application/json' } })).status).toBe(401);
    const answer = await fetch(`${dashboard}/api/orders`, { ...order, headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`me:${token}`).toString('base64')}` } });
    expect(answer.status).toBe(201);
    expect(placed).toEqual(['order-1']);
  });
});
