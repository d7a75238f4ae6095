import { productSymbols, topicSerdes } from '@ecosystem/avro';
import { connectKafka, createHttpServer, createSchemaRegistryClient, Router, runService } from '@ecosystem/platform';
import { ensurePageBuilt, pageRoutes } from './assets.ts';
import { dashboardConfig } from './config.ts';
import { EventHub } from './events.ts';
import { FlowFeed } from './feed.ts';
import { OrderFlow } from './flow.ts';
import { fetchLag } from './lag.ts';
import { dashboardApi } from './openapi.ts';
import { dashboardRoutes } from './routes.ts';
import type { FraudFlag, ServiceLag, Snapshot, StockRow } from './snapshot.ts';
import { fetchFraudFlags, fetchStock, Poller, PollWhileWatched } from './sources.ts';

const service = 'dashboard';

/** How often the page gets a full snapshot, and the soonest it hears of a new order after one changed. */
const snapshotIntervalMs = 1_000;
const ordersIntervalMs = 200;

await runService(service, dashboardConfig, async (config, logger) => {
  await ensurePageBuilt(logger);

  const kafka = await connectKafka({ clientId: service, config, logger });
  const serdes = topicSerdes(createSchemaRegistryClient(config), { prefix: config.TOPIC_PREFIX });

  const flow = new OrderFlow();
  const events = new EventHub(config.DASHBOARD_MAX_CLIENTS);
  const stock = new Poller<StockRow[]>(() => fetchStock(config.INVENTORY_URL), []);
  const fraud = new Poller<FraudFlag[]>(() => fetchFraudFlags(config.ENRICHMENT_URL), []);
  const lag = new Poller<ServiceLag[]>(() => fetchLag(kafka.admin(), config.TOPIC_PREFIX), []);
  const current = (): Snapshot => ({ at: Date.now(), products: productSymbols, flow: flow.summary(), stock: stock.state, fraud: fraud.state, lag: lag.state });
  const polling = new PollWhileWatched({ intervalMs: config.POLL_INTERVAL_MS, pagesOpen: () => events.size, poll: () => Promise.all([stock.poll(), fraud.poll(), lag.poll()]) });
  const snapshot = (): Snapshot => {
    polling.asked();
    return current();
  };

  // Orders reach the page within ordersIntervalMs of a record, without a full snapshot per record.
  let ordersChanged = false;
  const feed = new FlowFeed({ kafka, serdes, flow, logger, prefix: config.TOPIC_PREFIX, onChange: () => (ordersChanged = true) });
  const sendOrders = () => {
    if (!ordersChanged) return;
    ordersChanged = false;
    events.send('orders', flow.orderLists());
  };

  const router = new Router();
  router.use(pageRoutes().routes());
  router.use(
    dashboardRoutes({
      events,
      snapshot,
      ordersUrl: config.ORDERS_URL,
      ordersToken: config.API_TOKEN,
      placed: (id) => {
        flow.track(id);
        ordersChanged = true;
      },
    }).routes(),
  );
  const http = createHttpServer({
    logger,
    router,
    isReady: () => feed.isReading,
    describe: () => ({ service, reading: feed.isReading, clients: events.size }),
    api: dashboardApi,
    // The page shows orders and places them: all of it needs the token (the browser asks for it, as basic auth).
    apiToken: config.API_TOKEN,
    protectReads: true,
  });
  const port = await http.listen(config.PORT, config.HOST);
  await feed.start();

  const timers = [
    setInterval(() => polling.tick(), config.POLL_INTERVAL_MS),
    setInterval(() => events.send('snapshot', current()), snapshotIntervalMs),
    setInterval(sendOrders, ordersIntervalMs),
  ];
  logger.info({ port, orders: config.ORDERS_URL, inventory: config.INVENTORY_URL, enrichment: config.ENRICHMENT_URL }, `dashboard on http://localhost:${port}`);
  return async () => {
    timers.forEach(clearInterval);
    events.close();
    await http.close();
    await feed.stop();
    await kafka.close();
  };
});
