/**
 * The anchor's fraud scenario against a running system, many times: three new customers post
 * eight orders one after another (each after the previous 201, never waiting for a verdict),
 * and every order's FRAUD_CHECK must be the one posting order gives. Counts the runs with a
 * wrong verdict. With --when-ready it waits for the orders API to be ready and starts at once
 * (the runs right after `npm start` comes up are the ones that used to go wrong).
 *
 *   npm start                      # in one terminal, with its populator
 *   npm run anchor-fraud -- --runs 100 --when-ready
 */
import { Command, Option } from 'commander';
import { Topics, topicSerdes, type OrderValidation } from '@ecosystem/avro';
import { positiveInteger } from '@ecosystem/infra';
import { apiTokenConfig, authorizationHeaders, connectKafka, createLogger, createSchemaRegistryClient, exitOnStartupError, infrastructureConfig, loadConfig } from '@ecosystem/platform';
import { followTopics } from 'kstreams';

const options = new Command()
  .name('npm run anchor-fraud --')
  .description('Runs the anchor\'s three-customer fraud scenario against a running system and counts the runs that get a verdict out of posting order.')
  .option('--url <url>', 'orders service', process.env.ORDERS_URL ?? 'http://127.0.0.1:8000')
  .addOption(new Option('--runs <count>', 'scenario runs, one after another').default(100).argParser(positiveInteger))
  .option('--when-ready', 'wait for the orders service to be ready, then start at once')
  .parse()
  .opts<{ url: string; runs: number; whenReady?: boolean }>();

/** Values in posting order and the fraud verdict each must get (threshold 2000 per session). */
const anchor = [
  { customer: 0, quantity: 3, price: 25, verdict: 'PASS' },
  { customer: 1, quantity: 1, price: 1_000, verdict: 'PASS' },
  { customer: 2, quantity: 1, price: 10, verdict: 'PASS' },
  { customer: 0, quantity: 3, price: 1_250, verdict: 'FAIL' },
  { customer: 1, quantity: 1, price: 1_000, verdict: 'FAIL' },
  { customer: 2, quantity: 2, price: 10, verdict: 'PASS' },
  { customer: 0, quantity: 1, price: 5, verdict: 'FAIL' },
  { customer: 1, quantity: 1, price: 5, verdict: 'FAIL' },
] as const;

const config = loadConfig({ ...infrastructureConfig, ...apiTokenConfig });
const kafka = await connectKafka({ clientId: 'anchor-fraud', config, logger: createLogger('anchor-fraud', 'silent') }).catch(exitOnStartupError('anchor-fraud'));
const validations = topicSerdes(createSchemaRegistryClient(config), { prefix: config.TOPIC_PREFIX })[Topics.orderValidations];
const headers = { ...authorizationHeaders(config.API_TOKEN), 'content-type': 'application/json' };

if (options.whenReady) {
  for (;;) {
    const ready = await fetch(`${options.url}/ready`).then((answer) => answer.ok, () => false);
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`${new Date().toISOString()} the orders service is ready: starting`);
}

const verdicts = new Map<string, string>();
const reader = await followTopics(kafka, [validations.topic], { from: 'end', name: `anchor-fraud-${process.pid}` }, async (_topic, _partition, records) => {
  for (const record of records) {
    if (!record.value) continue;
    const validation: OrderValidation | undefined = await validations.value.deserialize(record.value).catch(() => undefined);
    if (validation?.checkType === 'FRAUD_CHECK') verdicts.set(validation.orderId, validation.validationResult);
  }
});

// Customers far above the populator's (1-1000), new for every run.
let nextCustomer = 100_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
const expected: Array<{ run: number; id: string; verdict: string }> = [];
const started = Date.now();
for (let run = 0; run < options.runs; run += 1) {
  const customers = [nextCustomer++, nextCustomer++, nextCustomer++];
  for (const order of anchor) {
    const answer = await fetch(`${options.url}/v1/orders`, { method: 'POST', headers, body: JSON.stringify({ customerId: customers[order.customer], product: 'JUMPERS', quantity: order.quantity, price: order.price }) });
    const body = (await answer.json()) as { id?: string };
    if (answer.status !== 201 || !body.id) throw new Error(`POST answered ${answer.status}: ${JSON.stringify(body)}`);
    expected.push({ run, id: body.id, verdict: order.verdict });
  }
}
const deadline = Date.now() + 120_000;
while (expected.some(({ id }) => !verdicts.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
await reader.close();
await kafka.close();

const wrongRuns = new Map<number, string[]>();
for (const { run, id, verdict } of expected) {
  const got = verdicts.get(id);
  if (got !== verdict) wrongRuns.set(run, [...(wrongRuns.get(run) ?? []), `${id}: FRAUD_CHECK ${got ?? 'missing'}, expected ${verdict}`]);
}
for (const [run, wrong] of wrongRuns) console.log(`run ${run + 1}: ${wrong.join('; ')}`);
console.log(`${options.runs - wrongRuns.size} of ${options.runs} runs right (${expected.length} orders in ${((Date.now() - started) / 1_000).toFixed(1)} s)`);
process.exit(wrongRuns.size === 0 ? 0 : 1);
