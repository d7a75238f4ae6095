/**
 * POST -> final state latency of the whole pipeline, open loop at a steady rate.
 *
 *   npm run bench:pipeline -- --orders 1000 --rate 50
 *
 * Starts its own copy of the five services (isolated by a topic prefix) on the running
 * infrastructure, or measures an already running system with --url.
 */
import { Command } from 'commander';
import { TestSystem } from '../test/e2e/system.ts';

const options = new Command()
  .name('npm run bench:pipeline --')
  .description('Measures POST -> VALIDATED/FAILED latency of the order pipeline at a steady rate.')
  .option('--orders <count>', 'orders to post', '1000')
  .option('--rate <perSecond>', 'orders per second (open loop)', '50')
  .option('--orders-instances <count>', 'orders-service instances to start', '1')
  .option('--url <url>', 'measure a running orders service instead of starting one')
  .option('--commit-interval <ms>', 'COMMIT_INTERVAL_MS of the services it starts', '100')
  .option('--guarantee <guarantee>', 'PROCESSING_GUARANTEE of the services it starts (default: each service\'s own)')
  .parse()
  .opts<{ orders: string; rate: string; ordersInstances: string; url?: string; commitInterval: string; guarantee?: string }>();

const count = Number(options.orders);
const rate = Number(options.rate);

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  let system: TestSystem | undefined;
  let baseUrl = options.url;
  if (!baseUrl) {
    console.log('starting the five services...');
    system = await TestSystem.start({ ordersInstances: Number(options.ordersInstances), environment: { LOG_LEVEL: 'error', COMMIT_INTERVAL_MS: options.commitInterval, ...(options.guarantee ? { PROCESSING_GUARANTEE: options.guarantee } : {}) } });
    await system.putStock({ JUMPERS: 100_000_000, UNDERPANTS: 100_000_000, STOCKINGS: 100_000_000 });
    baseUrl = system.ordersUrl();
  }
  console.log(`posting ${count} orders at ${rate}/s to ${baseUrl}`);
  const latencies: number[] = [];
  const postLatencies: number[] = [];
  const states = new Map<string, number>();
  let errors = 0;
  const started = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let index = 0; index < count; index += 1) {
    const due = started + (index * 1_000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      (async () => {
        const sent = performance.now();
        // Many customers and small amounts: the fraud check passes, every order validates.
        const body = JSON.stringify({ customerId: index, product: 'JUMPERS', quantity: 1, price: 1 });
        const created = await fetch(`${baseUrl}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        postLatencies.push(performance.now() - sent);
        if (created.status !== 201) {
          errors += 1;
          return;
        }
        const { id } = (await created.json()) as { id: string };
        const final = await fetch(`${baseUrl}/v1/orders/${id}/validated?timeout=30000`);
        if (final.status !== 200) {
          errors += 1;
          return;
        }
        const { state } = (await final.json()) as { state: string };
        latencies.push(performance.now() - sent);
        states.set(state, (states.get(state) ?? 0) + 1);
      })().catch(() => {
        errors += 1;
      }),
    );
    if ((index + 1) % Math.max(1, Math.round(rate * 5)) === 0) console.log(`  ${index + 1}/${count} posted`);
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1_000;
  latencies.sort((left, right) => left - right);
  postLatencies.sort((left, right) => left - right);
  const row = (name: string, values: number[]) =>
    `${name.padEnd(18)} p50 ${percentile(values, 0.5).toFixed(1).padStart(7)} ms   p95 ${percentile(values, 0.95).toFixed(1).padStart(7)} ms   p99 ${percentile(values, 0.99).toFixed(1).padStart(7)} ms   max ${(values[values.length - 1] ?? Number.NaN).toFixed(1).padStart(7)} ms`;
  console.log(`\n${count} orders in ${elapsed.toFixed(1)} s (${(latencies.length / elapsed).toFixed(1)} final/s), errors ${errors}, states ${JSON.stringify(Object.fromEntries(states))}`);
  console.log(row('POST -> 201', postLatencies));
  console.log(row('POST -> final', latencies));
  console.log(JSON.stringify({ orders: count, rate, errors, states: Object.fromEntries(states), postToFinal: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99), max: latencies[latencies.length - 1] } }));
  await system?.stop();
}

await main();
