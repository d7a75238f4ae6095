import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplesOf, scrape, sumOf, type MetricFamily } from '../support/prometheus.ts';
import { pipelineServices, TestSystem, type ServiceName } from './system.ts';

/**
 * GET /metrics of every service of a copy of the system (the pipeline, order-enrichment, the
 * email service and the dashboard), parsed strictly: the counters move when orders flow
 * (records processed, commits, HTTP requests by route and status), tasks run, the lag drains.
 */
let system: TestSystem;
const streamsServices: ServiceName[] = [...pipelineServices, 'order-enrichment', 'email-service'];
const everyService: ServiceName[] = [...streamsServices, 'dashboard'];
const orders = 5;

beforeAll(async () => {
  system = await TestSystem.start({ services: streamsServices });
  await system.startService('dashboard', 0, {
    ORDERS_URL: system.serviceUrl('orders-service'),
    INVENTORY_URL: system.serviceUrl('inventory-service'),
    ENRICHMENT_URL: system.serviceUrl('order-enrichment'),
  });
  await system.waitUntilReady();
  await system.putStock({ JUMPERS: 1_000 });
}, 240_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

const scrapeAll = async () => new Map(await Promise.all(everyService.map(async (service) => [service, await scrape(system.serviceUrl(service))] as const)));
const applicationOf = (service: ServiceName) => `${system.prefix}${service}`;
/** Changes of one sum between two scrapes of a service. */
const growth = (before: Map<ServiceName, Map<string, MetricFamily>>, after: Map<ServiceName, Map<string, MetricFamily>>, service: ServiceName, name: string, labels: Record<string, string> = {}) =>
  sumOf(after.get(service)!, name, labels) - sumOf(before.get(service)!, name, labels);

describe('GET /metrics of every service', () => {
  it('serves process, HTTP and streams metrics whose counters move as orders flow', async () => {
    const before = await scrapeAll();
    for (const service of everyService) {
      const metrics = before.get(service)!;
      expect(sumOf(metrics, 'process_resident_memory_bytes'), service).toBeGreaterThan(0);
      expect(metrics.has('nodejs_eventloop_lag_seconds'), service).toBe(true);
      // The readiness polls of the test system, counted by route and status.
      expect(sumOf(metrics, 'http_request_duration_seconds_count', { method: 'GET', route: '/ready', status: '200' }), service).toBeGreaterThan(0);
    }
    for (const service of streamsServices) {
      const application = applicationOf(service);
      const metrics = before.get(service)!;
      expect(sumOf(metrics, 'streams_state', { application, state: 'running' }), service).toBe(1);
      expect(sumOf(metrics, 'streams_tasks', { application, state: 'running' }), service).toBeGreaterThan(0);
      expect(sumOf(metrics, 'streams_tasks', { application, state: 'restoring' }), service).toBe(0);
      expect(sumOf(metrics, 'streams_rebalances_total', { application }), service).toBeGreaterThanOrEqual(1);
      expect(sumOf(metrics, 'streams_restore_duration_seconds_count', { application }), service).toBeGreaterThan(0);
    }

    const ids: string[] = [];
    for (let index = 0; index < orders; index++) {
      const { status, body } = await system.postOrder({ customerId: 5_000_000 + Math.floor(Math.random() * 1e9), product: 'JUMPERS', quantity: 1, price: 10 });
      expect(status, JSON.stringify(body)).toBe(201);
      ids.push(body.id as string);
    }
    const finals = await Promise.all(ids.map((id) => system.getOrder(id, { validated: true })));
    expect(finals.map(({ body }) => body.state)).toEqual(ids.map(() => 'VALIDATED'));
    // The email service and order-enrichment are not on the path of a verdict: wait for them to read the final states too.
    let after = await scrapeAll();
    const deadline = Date.now() + 30_000;
    const handled = (service: ServiceName) => growth(before, after, service, 'streams_records_processed_total') + growth(before, after, service, 'streams_dead_letters_total');
    while (streamsServices.some((service) => handled(service) < 2 * orders) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = await scrapeAll();
    }

    // Each order is read by every streams service at least twice (CREATED, then VALIDATED), and committed.
    for (const service of streamsServices) {
      const application = applicationOf(service);
      expect(handled(service), service).toBeGreaterThanOrEqual(2 * orders);
      expect(growth(before, after, service, 'streams_records_processed_total', { application }), service).toBeGreaterThanOrEqual(orders);
      expect(growth(before, after, service, 'streams_commit_duration_seconds_count', { application }), service).toBeGreaterThan(0);
      for (const sample of samplesOf(after.get(service)!, 'streams_records_processed_total')) expect(sample.labels.task, service).toMatch(/^\d+_\d+$/);
    }
    for (const service of pipelineServices) expect(sumOf(after.get(service)!, 'streams_dead_letters_total'), service).toBe(0);
    // This copy of the system has no customers: the email service cannot route a new order to
    // its customer's level topic, and sends each CREATED order to its dead-letter topic.
    expect(growth(before, after, 'email-service', 'streams_dead_letters_total', { application: applicationOf('email-service') })).toBe(orders);
    // The orders service: its requests by route pattern and status, one series for all orders.
    expect(growth(before, after, 'orders-service', 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/orders', status: '201' })).toBe(orders);
    expect(growth(before, after, 'orders-service', 'http_request_duration_seconds_count', { method: 'GET', route: '/v1/orders/:id/validated', status: '200' })).toBe(orders);
    const routes = new Set(samplesOf(after.get('orders-service')!, 'http_request_duration_seconds_count').map((sample) => sample.labels.route!));
    expect([...routes].filter((route) => ids.some((id) => route.includes(id)))).toEqual([]);

    // Once the orders are through, the inputs of every task are read to their end.
    for (const service of streamsServices) {
      const lagDeadline = Date.now() + 30_000;
      for (;;) {
        const metrics = await scrape(system.serviceUrl(service));
        const lag = samplesOf(metrics, 'streams_consumer_lag_records');
        expect(lag.length, service).toBeGreaterThan(0);
        if (lag.every((sample) => sample.value === 0)) break;
        if (Date.now() > lagDeadline) throw new Error(`${service} still lags: ${JSON.stringify(lag.filter((sample) => sample.value > 0))}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  });
});
