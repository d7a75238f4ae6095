/**
 * The load generator: puts stock on warehouse-inventory.v1, then posts orders to the orders
 * API at a fixed rate (open loop) or as fast as it can, with a payment per order on
 * payments.v1. Usable against any running system.
 */
import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Topics, topicSerdes, type Product } from '@ecosystem/avro';
import { fraction, nonNegativeInteger, nonNegativeNumber, positiveInteger, positiveNumber } from '@ecosystem/infra';
import { apiTokenConfig, authorizationHeaders, BatchingProducer, connectKafka, createLogger, createSchemaRegistryClient, exitOnStartupError, infrastructureConfig, loadConfig } from '@ecosystem/platform';
import { checkMix, defaultCustomerCount, defaultFraudsters, defaultMix, expectedShares, OrderGenerator, parseCustomers, parseProducts, type OrderKind, type OrderMix } from './orders.ts';
import { describeSeeding, fetchFraudSessions } from './fraud-sessions.ts';
import { fetchStock, stockToWrite } from './stock.ts';

const options = new Command()
  .name('npm run populate --')
  .description(
    'Generates orders (through POST /v1/orders) and payments, after putting stock in the warehouse. Everyday orders from honest ' +
      'customers (most of them order rarely), plus small shares of fraudsters, invalid orders and orders for a sold-out product, ' +
      'which end FAILED on purpose. Stock of the other products is topped up as it sells.',
  )
  .option('--url <url>', 'orders service', process.env.ORDERS_URL ?? 'http://127.0.0.1:8000')
  .addOption(new Option('--rate <perSecond>', 'orders per second (open loop)').default(1).argParser(positiveNumber))
  .addOption(new Option('--count <orders>', 'orders to post (default: until stopped)').argParser(positiveInteger))
  .addOption(new Option('--duration <seconds>', 'stop after this long').argParser(positiveNumber))
  .addOption(new Option('--fast <concurrency>', 'as fast as possible with this many requests in flight (ignores --rate)').argParser(positiveInteger))
  .addOption(new Option('--customers <ids>', 'the customer base, a range (1-1000) or a list (1,4,7); the customers source seeds CUSTOMER_COUNT (1000)').default(defaultMix.customers, `1-${defaultCustomerCount}`).argParser(cliParser(parseCustomers)))
  .addOption(new Option('--fraudsters <count>', 'how many of the last customers are fraudsters (default: 1 per 100 customers, 5 at most)').argParser(nonNegativeInteger))
  .addOption(new Option('--fraud-share <share>', 'share of orders from fraudsters, in bursts of 3, each over the fraud threshold').default(defaultMix.fraudShare).argParser(fraction))
  .addOption(new Option('--invalid-share <share>', 'share of orders with a quantity of 0 or less').default(defaultMix.invalidShare).argParser(fraction))
  .addOption(new Option('--sold-out-share <share>', 'share of orders for a sold-out product').default(defaultMix.soldOutShare).argParser(fraction))
  .addOption(new Option('--products <names>', 'products in stock').default(defaultMix.products, defaultMix.products.join(',')).argParser(cliParser(parseProducts)))
  .addOption(new Option('--sold-out <names>', 'products the warehouse never gets (empty: none)').default(defaultMix.soldOut, defaultMix.soldOut.join(',')).argParser(cliParser(parseProducts)))
  .addOption(new Option('--skew <exponent>', 'how unevenly customers order: the n-th orders in proportion to 1/n^skew (0: all alike)').default(defaultMix.skew).argParser(nonNegativeNumber))
  .addOption(new Option('--fraud-threshold <total>', 'the fraud service\'s FRAUD_THRESHOLD: honest customers stay well under it').default(defaultMix.fraudThreshold).argParser(positiveNumber))
  .addOption(new Option('--fraud-session-gap <seconds>', 'the fraud service\'s FRAUD_SESSION_GAP_MS, in seconds').default(defaultMix.sessionGapMs / 1_000).argParser(positiveNumber))
  .addOption(new Option('--stock <units>', 'units kept available per product in stock, topped up as they sell (0: leave stock alone)').default(100_000).argParser(nonNegativeInteger))
  .option('--inventory-url <url>', 'inventory service, whose GET /v1/stock tells what is reserved', process.env.INVENTORY_URL ?? 'http://127.0.0.1:8101')
  .option('--fraud-url <url>', "fraud service, whose GET /v1/fraud-sessions tells each customer's current fraud session at start", process.env.FRAUD_URL ?? 'http://127.0.0.1:8102')
  .option('--quiet', 'no progress lines')
  .parse()
  .opts<{
    url: string;
    rate: number;
    count?: number;
    duration?: number;
    fast?: number;
    customers: number[];
    fraudsters?: number;
    fraudShare: number;
    invalidShare: number;
    soldOutShare: number;
    products: Product[];
    soldOut: Product[];
    skew: number;
    fraudThreshold: number;
    fraudSessionGap: number;
    stock: number;
    inventoryUrl: string;
    fraudUrl: string;
    quiet?: boolean;
  }>();

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

const mix: OrderMix = {
  customers: options.customers,
  fraudsters: options.fraudsters ?? defaultFraudsters(options.customers.length),
  products: options.products,
  soldOut: options.soldOut,
  fraudShare: options.fraudShare,
  invalidShare: options.invalidShare,
  soldOutShare: options.soldOutShare,
  skew: options.skew,
  fraudThreshold: options.fraudThreshold,
  sessionGapMs: options.fraudSessionGap * 1_000,
};
try {
  checkMix(mix);
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const generator = new OrderGenerator(mix);

const config = loadConfig({ ...infrastructureConfig, ...apiTokenConfig });
const logger = createLogger('populator', 'warn');
const serdes = topicSerdes(createSchemaRegistryClient(config), { prefix: config.TOPIC_PREFIX });
const limit = options.count ?? Number.POSITIVE_INFINITY;

const kafka = await connectKafka({ clientId: 'populator', config, logger }).catch(exitOnStartupError('populator'));
// Payments of orders in flight together go out in one send at a time, as the idempotent producer needs.
const producer = BatchingProducer.create(kafka, 'populator', logger);
await producer.connect();

async function putStock(stock: Array<[Product, number]>): Promise<void> {
  if (stock.length === 0) return;
  const inventory = serdes[Topics.warehouseInventory];
  await Promise.all(stock.map(([product, units]) => producer.send(inventory.topic, { key: inventory.key.serialize(product), value: inventory.value.serialize(units) })));
}

const shares = expectedShares(mix);
const percent = (share: number) => `${(share * 100).toFixed(share * 100 < 10 ? 1 : 0).replace(/\.0$/, '')}%`;
console.log(
  `mix: ${mix.customers.length} customers (${mix.fraudsters} of them fraudsters); expect about ${percent(shares.validated)} VALIDATED, ` +
    `and FAILED: ${percent(shares.fraud)} fraud, ${percent(shares.invalid)} invalid, ${percent(shares.soldOut)} sold out${mix.soldOut.length ? ` (${mix.soldOut.join(', ')})` : ''}`,
);
// A restarted populator continues the sessions the fraud service holds, instead of counting from zero.
const fraudSessions = await fetchFraudSessions(options.fraudUrl, { headers: authorizationHeaders(config.API_TOKEN) });
if (fraudSessions.ok) generator.seedSessions(fraudSessions.sessions.sessions);
console.log(describeSeeding(fraudSessions, options.fraudUrl, mix));
let stockTimer: NodeJS.Timeout | undefined;
if (options.stock > 0) {
  // What the inventory service has reserved so far decides the figure that leaves a full shelf.
  let rows = await fetchStock(options.inventoryUrl);
  for (let attempt = 1; !rows && attempt < 5; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    rows = await fetchStock(options.inventoryUrl);
  }
  const initial = stockToWrite(rows, mix.products, mix.soldOut, options.stock, true);
  await putStock(initial);
  console.log(`stock: ${initial.map(([product, units]) => `${product} ${units}`).join(', ') || 'enough already'}${rows ? '' : ` (${options.inventoryUrl} did not answer: topped up once it does)`}`);
  let toppingUp = false;
  stockTimer = setInterval(() => {
    if (toppingUp) return;
    toppingUp = true;
    void fetchStock(options.inventoryUrl)
      .then(async (current) => {
        const writes = stockToWrite(current, mix.products, mix.soldOut, options.stock, false);
        await putStock(writes);
        if (writes.length > 0 && !options.quiet) console.log(`stock topped up: ${writes.map(([product, units]) => `${product} ${units}`).join(', ')}`);
      })
      .catch((error: unknown) => console.error(`could not top up the stock: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => (toppingUp = false));
  }, 10_000);
}

const counts = { posted: 0, created: 0, rejected: 0, errors: 0 };
const kinds: Record<OrderKind, number> = { everyday: 0, fraud: 0, invalid: 0, 'sold-out': 0 };
let stopping = false;
process.on('SIGINT', () => (stopping = true));
process.on('SIGTERM', () => (stopping = true));

async function placeOrder(): Promise<void> {
  const { kind, ...order } = generator.next();
  counts.posted += 1;
  kinds[kind] += 1;
  try {
    // The API answers within its own timeout (10 s by default); a request still open after 30 s is lost, and counted as an error.
    const response = await fetch(`${options.url}/v1/orders`, { method: 'POST', headers: { ...authorizationHeaders(config.API_TOKEN), 'content-type': 'application/json' }, body: JSON.stringify(order), signal: AbortSignal.timeout(30_000) });
    if (response.status !== 201) {
      counts.rejected += 1;
      if (counts.rejected <= 3) console.error(`order rejected (${response.status}): ${await response.text()}`);
      return;
    }
    const { id } = (await response.json()) as { id: string };
    counts.created += 1;
    const payments = serdes[Topics.payments];
    const payment = { id: randomUUID(), orderId: id, ccy: 'EUR', amount: order.quantity * order.price };
    await producer.send(payments.topic, { key: payments.key.serialize(payment.id), value: await payments.value.serialize(payment) });
  } catch (error) {
    counts.errors += 1;
    if (counts.errors <= 3) console.error(`cannot post to ${options.url}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// --duration counts from the first order: connecting, asking the fraud service and stocking the
// shelves first do not shorten the run.
const started = Date.now();
const deadline = options.duration === undefined ? Number.POSITIVE_INFINITY : started + options.duration * 1_000;
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
if (stockTimer) clearInterval(stockTimer);
await producer.disconnect();
const seconds = (Date.now() - started) / 1_000;
console.log(`done: posted ${counts.posted} in ${seconds.toFixed(1)} s (${(counts.posted / Math.max(seconds, 0.001)).toFixed(1)}/s), created ${counts.created}, rejected ${counts.rejected}, errors ${counts.errors}`);
console.log(`kinds posted: ${Object.entries(kinds).map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
process.exit(counts.errors > 0 && counts.created === 0 ? 1 : 0);
