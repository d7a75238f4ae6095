import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumArgs, ensureChromium } from './support/chromium.ts';
import { runService } from '../../scripts/services.ts';
import { pipelineServices, TestSystem } from './system.ts';

/**
 * The live dashboard in a real browser: headless Chromium on the page a dashboard process
 * serves for a copy of the pipeline (with order-enrichment, for the fraud flags). An order
 * placed through the form shows its three checks and its final state; the populator's load
 * moves the counters, the charts, stock, fraud flags and consumer lag. The screenshot goes to
 * test-artifacts/dashboard.png (and to docs/dashboard.png, the README's, with UPDATE_SCREENSHOT=1).
 */

const repository = path.resolve(import.meta.dirname, '..', '..');
const artifacts = path.join(repository, 'test-artifacts');
const checkNames = ['INVENTORY_CHECK', 'FRAUD_CHECK', 'ORDER_DETAILS_CHECK'];

let system: TestSystem;
let browser: Browser;
let page: Page;
let dashboardUrl: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  const executablePath = ensureChromium();
  system = await TestSystem.start({ services: [...pipelineServices, 'order-enrichment'] });
  await system.putStock({ JUMPERS: 1_000, UNDERPANTS: 1_000, STOCKINGS: 1_000 });
  const dashboard = await system.startService('dashboard', 0, {
    ORDERS_URL: system.serviceUrl('orders-service'),
    INVENTORY_URL: system.serviceUrl('inventory-service'),
    ENRICHMENT_URL: system.serviceUrl('order-enrichment'),
    POLL_INTERVAL_MS: '500',
  });
  // Ready: reading from the end of both topics, so every order placed from now on is seen.
  await system.waitUntilReady();
  dashboardUrl = `http://127.0.0.1:${dashboard.port}`;
  browser = await chromium.launch({ executablePath, args: chromiumArgs });
  page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

async function total(key: 'created' | 'validated' | 'failed'): Promise<number> {
  return Number(await page.getByTestId(`total-${key}`).textContent());
}

async function placeOrder(order: { customerId: number; product: string; quantity: number; price: number }): Promise<Locator> {
  await page.fill('input[name="customerId"]', String(order.customerId));
  await page.selectOption('select[name="product"]', order.product);
  await page.fill('input[name="quantity"]', String(order.quantity));
  await page.fill('input[name="price"]', String(order.price));
  const status = page.getByTestId('form-status');
  const before = await status.textContent();
  await page.click('button[type="submit"]');
  await expect.poll(async () => ((await status.textContent()) !== before ? await status.textContent() : ''), { timeout: 10_000 }).toMatch(/^order \S+ accepted/);
  const id = /^order (\S+) accepted/.exec((await status.textContent()) ?? '')?.[1];
  expect(id).toBeTruthy();
  return page.locator(`[data-testid="placed-order"][data-order-id="${id}"]`);
}

/** The final state and the three results (`checks` names those that must be a given result; any other must have one). */
async function expectOutcome(placed: Locator, state: string, checks: Record<string, 'PASS' | 'FAIL'>): Promise<void> {
  await expect.poll(() => placed.getByTestId('placed-state').textContent(), { timeout: 30_000 }).toMatch(new RegExp(`^${state}`));
  for (const check of checkNames) {
    await expect.poll(() => placed.locator(`[data-check="${check}"]`).textContent(), { timeout: 5_000 }).toMatch(new RegExp(`: ${checks[check] ?? '(PASS|FAIL)'}$`));
  }
  // The same order in the table of latest orders, with its latency.
  const id = await placed.getAttribute('data-order-id');
  await expect.poll(() => page.locator(`#recent tr[data-order-id="${id}"] td.state`).textContent()).toBe(state);
}

function runPopulator(ordersUrl: string, seconds: number): Promise<number | null> {
  const populator: ChildProcess = spawn(
    runService,
    ['populator', '--url', ordersUrl, '--fraud-url', system.serviceUrl('fraud-service'), '--rate', '10', '--duration', String(seconds), '--stock', '0', '--quiet'],
    { cwd: repository, env: { ...process.env, TOPIC_PREFIX: system.prefix, LOG_LEVEL: 'warn' }, stdio: 'ignore' },
  );
  return new Promise((resolve) => populator.once('exit', resolve));
}

describe('the dashboard', () => {
  it('shows an order placed through the form go through its checks, and the counters move under load', async () => {
    await page.goto(dashboardUrl);
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 10_000 }).toBe('live');

    const accepted = await placeOrder({ customerId: 1, product: 'JUMPERS', quantity: 2, price: 12.5 });
    await expectOutcome(accepted, 'VALIDATED', { INVENTORY_CHECK: 'PASS', FRAUD_CHECK: 'PASS', ORDER_DETAILS_CHECK: 'PASS' });
    const refused = await placeOrder({ customerId: 2, product: 'STOCKINGS', quantity: 0, price: 5 });
    await expectOutcome(refused, 'FAILED', { ORDER_DETAILS_CHECK: 'FAIL' });
    // The counters come with the next snapshot (every second).
    await expect.poll(() => total('validated')).toBeGreaterThanOrEqual(1);
    await expect.poll(() => total('failed')).toBeGreaterThanOrEqual(1);

    // The populator at 10 orders/s for 6 s: the counters and the rate move while it runs.
    const before = { created: await total('created'), final: (await total('validated')) + (await total('failed')) };
    const populating = runPopulator(system.serviceUrl('orders-service'), 6);
    await expect.poll(async () => Number.parseFloat((await page.getByTestId('rate-created').textContent()) ?? ''), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await populating).toBe(0);
    await expect.poll(() => total('created'), { timeout: 30_000 }).toBeGreaterThanOrEqual(before.created + 40);
    await expect.poll(async () => (await total('validated')) + (await total('failed')), { timeout: 30_000 }).toBeGreaterThanOrEqual(before.final + 40);
    await expect.poll(() => page.getByTestId('latency').textContent()).toMatch(/^p50 \d+ ms · p95 \d+ ms · p99 \d+ ms over the last minute \((\d{2,}) orders\)/);
    // A real duration: the final record is timed when it arrives, not by its timestamp (which is the CREATED one's).
    const p50 = Number(/^p50 (\d+) ms/.exec((await page.getByTestId('latency').textContent()) ?? '')?.[1]);
    expect(p50).toBeGreaterThan(0);
    expect(await page.locator('#rate-chart rect.validated').count()).toBeGreaterThan(0);
    expect(await page.locator('#latency-chart circle.p50').count()).toBeGreaterThan(0);

    // The polled panels: reservations of the orders, customers with more than 2 orders in 30 s, each service's lag.
    await expect.poll(async () => Number(await page.locator('#stock tr[data-product="JUMPERS"] td').nth(2).textContent()), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#fraud tr[data-customer]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    for (const service of [...pipelineServices, 'order-enrichment']) {
      await expect.poll(() => page.locator(`#lag tr[data-service="${service}"] td.lag`).textContent(), { timeout: 10_000 }).toMatch(/^\d+$/);
    }
    expect(pageErrors).toEqual([]);

    await mkdir(artifacts, { recursive: true });
    const screenshot = path.join(artifacts, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') await copyFile(screenshot, path.join(repository, 'docs', 'dashboard.png'));
  }, 90_000);
});
