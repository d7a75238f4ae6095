import { Router } from '@ecosystem/platform';
import { describe, expect, it } from 'vitest';
import { openApiProblems, operationsOf, schemaValidator, servedDocument } from '../../test/support/openapi.ts';
import { pageRoutes } from '../src/assets.ts';
import { EventHub } from '../src/events.ts';
import { OrderFlow } from '../src/flow.ts';
import { dashboardApi } from '../src/openapi.ts';
import { dashboardRoutes } from '../src/routes.ts';
import type { Snapshot } from '../src/snapshot.ts';

describe("the dashboard's /openapi.json", () => {
  it('is valid OpenAPI 3.1, names every route, and its Snapshot is what the feed sends', async () => {
    const flow = new OrderFlow();
    const now = Date.now();
    flow.addOrder({ id: 'a', customerId: 1, state: 'CREATED', product: 'JUMPERS', quantity: 1, price: 2 }, now - 300, now - 200);
    flow.addValidation({ orderId: 'a', checkType: 'FRAUD_CHECK', validationResult: 'PASS' });
    flow.addOrder({ id: 'a', customerId: 1, state: 'VALIDATED', product: 'JUMPERS', quantity: 1, price: 2 }, now - 300, now);
    flow.addValidation({ orderId: 'b', checkType: 'INVENTORY_CHECK', validationResult: 'FAIL' });
    const snapshot: Snapshot = {
      at: now,
      products: ['JUMPERS'],
      flow: flow.summary(now),
      stock: { rows: [{ product: 'JUMPERS', stock: 5, reserved: 1 }], at: now },
      fraud: { rows: [{ customerId: 7, firstName: null, lastName: null, counts: 3, windowStart: 0, windowEnd: 30_000 }], at: now },
      lag: { rows: [{ service: 'inventory-service', groupId: 'inventory-service', lag: null }], at: 0, error: 'the broker did not answer' },
    };
    // The router as main.ts builds it.
    const router = new Router();
    router.use(pageRoutes().routes());
    router.use(dashboardRoutes({ events: new EventHub(), snapshot: () => snapshot, ordersUrl: 'http://127.0.0.1:1', placed: () => {} }).routes());
    const document = await servedDocument(router, dashboardApi, true);
    expect(await openApiProblems(document)).toEqual([]);
    expect(operationsOf(document).sort()).toEqual(['GET /', 'GET /api/snapshot', 'GET /assets/{file}', 'GET /events', 'GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /ready', 'POST /api/orders']);

    const validate = schemaValidator(document, 'Snapshot');
    expect(validate(JSON.parse(JSON.stringify(snapshot))), JSON.stringify(validate.errors)).toBe(true);
    expect(snapshot.flow.recent.length).toBeGreaterThan(0);
  });
});
