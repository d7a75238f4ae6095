/**
 * The load generator: puts stock on warehouse-inventory.v1, then posts orders to the orders
 * API at a fixed rate (open loop) or as fast as it can, with a payment per order on
 * payments.v1. Usable against any running system.
 */
import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createSchemaRegistry, Topics, topicSerdes, type Product } from '@ecosystem/avro';
import { fraction, nonNegativeInteger, positiveInteger, positiveNumber } from '@ecosystem/infra';
import { createKafka, createLogger, createProducer, loadInfrastructureConfig } from '@ecosystem/platform';
import { defaultMix, generateOrder, parseCustomers, parseProducts } from './orders.ts';

const options = new Command()
  .name('npm run populate --')
  .description('Generates orders (through POST /v1/orders) and payments, after putting stock in the warehouse.')
  .option('--url <url>', 'orders service', process.env.ORDERS_URL ?? 'http://127.0.0.1:8000')
  .addOption(new Option('--rate <perSecond>', 'orders per second (open loop)').default(1).argParser(positiveNumber))
  .addOption(new Option('--count <orders>', 'orders to post (default: until stopped)').argParser(positiveInteger))
  .addOption(new Option('--duration <seconds>', 'stop after this long').argParser(positiveNumber))
  .addOption(new Option('--fast <concurrency>', 'as fast as possible with this many requests in flight (ignores --rate)').argParser(positiveInteger))
  .addOption(new Option('--customers <ids>', 'customer ids, a range (1-9) or a list (1,4,7)').default(defaultMix.customers, '1-9').argParser(cliParser(parseCustomers)))
  .addOption(new Option('--products <names>', 'products to order').default(defaultMix.products, defaultMix.products.join(',')).argParser(cliParser(parseProducts)))
  .addOption(new Option('--stock <units>', 'units of stock per product to put first (0: leave stock alone)').default(100_000).argParser(nonNegativeInteger))
  .addOption(new Option('--big-spenders <share>', 'share of orders with a high price, which fail the fraud check').default(defaultMix.bigSpenderShare).argParser(fraction))
  .option('--quiet', 'no progress lines')
  .parse()
  .opts<{ url: string; rate: number; count?: number; duration?: number; fast?: number; customers: number[]; products: Product[]; stock: number; bigSpenders: number; quiet?: boolean }>();

/** A parser that throws a plain Error, as commander's one-line "invalid argument" error. */
function cliParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

const config = loadInfrastructureConfig();
const logger = createLogger('populator', 'warn');
const serdes = topicSerdes(createSchemaRegistry(config.SCHEMA_REGISTRY_URL), { prefix: config.TOPIC_PREFIX });
const mix = { customers: options.customers, products: options.products, bigSpenderShare: options.bigSpenders };
const limit = options.count ?? Number.POSITIVE_INFINITY;
const deadline = options.duration === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.duration * 1_000;

const kafka = createKafka({ clientId: 'populator', brokers: config.KAFKA_BROKERS, logger });
const producer = createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 });
await producer.connect();

const stock = options.stock;
if (stock > 0) {
  const inventory = serdes[Topics.warehouseInventory];
  await producer.send({ topic: inventory.topic, acks: -1, messages: mix.products.map((product) => ({ key: inventory.key.serialize(product), value: inventory.value.serialize(stock) })) });
  console.log(`stock: ${stock} units of ${mix.products.join(', ')}`);
}

const counts = { posted: 0, created: 0, rejected: 0, errors: 0 };
let stopping = false;
process.on('SIGINT', () => (stopping = true));
process.on('SIGTERM', () => (stopping = true));

async function placeOrder(): Promise<void> {
  const order = generateOrder(mix);
  counts.posted += 1;
  try {
    const response = await fetch(`${options.url}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    if (response.status !== 201) {
      counts.rejected += 1;
      if (counts.rejected <= 3) console.error(`order rejected (${response.status}): ${await response.text()}`);
      return;
    }
    const { id } = (await response.json()) as { id: string };
    counts.created += 1;
    const payments = serdes[Topics.payments];
    const payment = { id: randomUUID(), orderId: id, ccy: 'EUR', amount: order.quantity * order.price };
    await producer.send({ topic: payments.topic, messages: [{ key: payments.key.serialize(payment.id), value: await payments.value.serialize(payment) }] });
  } catch (error) {
    counts.errors += 1;
    if (counts.errors <= 3) console.error(`cannot post to ${options.url}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const started = Date.now();
const progress = options.quiet
  ? undefined
  : setInterval(() => {
      const seconds = (Date.now() - started) / 1_000;
      console.log(`posted ${counts.posted} (${(counts.posted / seconds).toFixed(1)}/s): created ${counts.created}, rejected ${counts.rejected}, errors ${counts.errors}`);
    }, 5_000);
const more = () => !stopping && counts.posted < limit && Date.now() < deadline;

if (options.fast !== undefined) {
  await Promise.all(Array.from({ length: options.fast }, async () => {
    while (more()) await placeOrder();
  }));
} else {
  const interval = 1_000 / options.rate;
  const inFlight = new Set<Promise<void>>();
  for (let index = 0; more(); index += 1) {
    const wait = started + index * interval - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (!more()) break;
    const request = placeOrder().finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
}
if (progress) clearInterval(progress);
await producer.disconnect();
const seconds = (Date.now() - started) / 1_000;
console.log(`done: posted ${counts.posted} in ${seconds.toFixed(1)} s (${(counts.posted / Math.max(seconds, 0.001)).toFixed(1)}/s), created ${counts.created}, rejected ${counts.rejected}, errors ${counts.errors}`);
process.exit(counts.errors > 0 && counts.created === 0 ? 1 : 0);
