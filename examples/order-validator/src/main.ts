/**
 * The order validator as a service: validates orders until stopped (Ctrl-C), and answers
 * GET /stock/<product> from the stock table, wherever the product's partition lives: its own
 * store, or the instance that owns it (interactive queries with owner lookup).
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 PORT=7070 npx tsx src/main.ts
 */
import { createServer } from 'node:http';
import { createTopics, KafkaClients, KafkaStreams, type ReadOnlyKeyValueStore } from 'kstreams';
import { orderValidatorTopology, stockStore, type Stock, type ValidatorTopics } from './topology.ts';

const port = Number(process.env.PORT ?? 7070);
const endpoint = `127.0.0.1:${port}`;
const topics: ValidatorTopics = { orders: 'shop-orders', stock: 'shop-stock', validated: 'shop-orders-validated', rejected: 'shop-orders-rejected' };
const clients = new KafkaClients({ clientId: `order-validator-${port}`, brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') });

// The orders and the stock are joined by product, so both topics need the same partition count.
await createTopics(clients.admin(), [
  { name: topics.orders, partitions: 3, compacted: false },
  { name: topics.stock, partitions: 3, compacted: true },
  { name: topics.validated, partitions: 3, compacted: false },
  { name: topics.rejected, partitions: 3, compacted: false },
]);

const app = new KafkaStreams({ applicationId: 'order-validator', topology: orderValidatorTopology(topics), clients, endpoint, stateDirectory: `.kstreams-state/${port}` });

const server = createServer((request, response) => {
  const product = /^\/stock\/([^/]+)$/.exec(request.url ?? '')?.[1];
  if (request.method !== 'GET' || product === undefined) return void response.writeHead(404).end();
  const key = decodeURIComponent(product);
  const owner = app.ownerOf(stockStore, key);
  if (owner.status === 'unavailable') return void response.writeHead(503, { 'retry-after': '1' }).end(owner.reason);
  if (owner.status === 'available') return void response.writeHead(307, { location: `http://${owner.endpoint}${request.url}` }).end();
  const store = app.localStore<ReadOnlyKeyValueStore<string, Stock>>(stockStore, key);
  if (!store) return void response.writeHead(503, { 'retry-after': '1' }).end('the task moved away');
  void store.get(key).then(
    (stock) => (stock ? response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stock)) : response.writeHead(404).end()),
    (error: unknown) => response.writeHead(500).end(String(error)),
  );
});

const stop = async () => {
  server.close();
  await app.close();
  await clients.close();
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

await app.start();
server.listen(port, '127.0.0.1', () => console.log(`validating ${topics.orders}; stock at http://${endpoint}/stock/<product>`));
