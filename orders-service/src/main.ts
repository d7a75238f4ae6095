import { Topics, topicSerdes, type Order } from '@ecosystem/avro';
import { topicRetentionMs } from 'kstreams';
import { BatchingProducer, connectKafka, createHttpServer, createSchemaRegistryClient, createStreamsApp, runService } from '@ecosystem/platform';
import { ordersServiceConfig } from './config.ts';
import { ordersApiDescription } from './openapi.ts';
import { ordersApi } from './routes.ts';
import { ordersViewTopology } from './topology.ts';
import { OrderWaiters } from './waiters.ts';

const service = 'orders-service';

await runService(service, ordersServiceConfig, async (config, logger) => {
  const endpoint = config.ADVERTISED_ENDPOINT ?? `127.0.0.1:${config.PORT}`;
  const kafka = await connectKafka({ clientId: service, config, logger });
  const serdes = topicSerdes(createSchemaRegistryClient(config), { prefix: config.TOPIC_PREFIX });
  const waiters = new OrderWaiters();
  let orderChanged = (_id: string, _order: Order) => {};
  const topology = ordersViewTopology(serdes, (id, order) => orderChanged(id, order), await topicRetentionMs(kafka.admin(), serdes[Topics.orders].topic));
  const streams = createStreamsApp({ service, topology, kafka, logger, config, endpoint });
  const producer = BatchingProducer.create(kafka, 'orders', logger, config.MAX_POSTS_IN_FLIGHT);
  await producer.connect();

  const limits = {
    defaultTimeoutMs: config.DEFAULT_TIMEOUT_MS,
    maxTimeoutMs: config.MAX_TIMEOUT_MS,
    maxBodyBytes: config.MAX_BODY_BYTES,
    maxPostsInFlight: config.MAX_POSTS_IN_FLIGHT,
    maxPendingOrders: config.MAX_PENDING_ORDERS,
    postTimeoutMs: config.POST_TIMEOUT_MS,
  };
  const api = ordersApi({ streams, producer, serdes, waiters, logger, endpoint, apiToken: config.API_TOKEN, ...limits });
  orderChanged = api.orderChanged;
  const http = createHttpServer({
    logger,
    router: api.router,
    // A stopping instance is not ready: a load balancer stops sending it clients.
    isReady: () => streams.isReady && !api.stopping,
    describe: () => ({ service, endpoint, state: streams.state, tasks: streams.assignedTasks, waiters: waiters.size, ...api.load() }),
    api: ordersApiDescription(limits),
    // Orders are customers' data: reads need the token too.
    apiToken: config.API_TOKEN,
    protectReads: true,
  });
  const port = await http.listen(config.PORT, config.HOST);
  await streams.start();
  logger.info({ port, endpoint, applicationId: streams.applicationId }, `${service} listening on :${port}`);
  return async () => {
    // Hand the partitions over before the HTTP server goes. Until they see the rebalance, other
    // instances still forward this one's orders here: they are refused and ask again for the
    // new owner. Closing the server while they still send would cut requests mid-way, and a
    // POST cut off is one nobody can tell was produced or not.
    await api.stop();
    await streams.close();
    await api.untilQuiet(1_000, 10_000);
    await http.close();
    await producer.disconnect();
  };
});
