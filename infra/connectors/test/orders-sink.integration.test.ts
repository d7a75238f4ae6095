import { frame, stringSerde, topicSerdes, type Order, type OrderState, type Product } from '@ecosystem/avro';
import { allPartitions, committedOffsets as groupOffsets, endOffsets as partitionEnds } from 'kstreams';
import type { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElasticsearchClient } from '../src/elasticsearch.ts';
import { ordersSinkJob, ordersSinkNames } from '../src/jobs.ts';
import { startOrdersSink, type OrdersSink } from '../src/orders-sink.ts';
import { startElasticsearchProxy, type ElasticsearchProxy } from './support/elasticsearch-proxy.ts';
import { cleanUp, elasticsearchUrl, eventually, quietLogger, readToEnd, testElasticsearch, testKafka, testRegistry, uniquePrefix } from './support/servers.ts';

const kafka = testKafka();
const registry = testRegistry();
const prefix = uniquePrefix('orders');
const names = ordersSinkNames(prefix);
const orderSerdes = topicSerdes(registry, { prefix })['orders.v1'];
const producer = kafka.producer();
const elasticsearch: Client = testElasticsearch();
let proxy: ElasticsearchProxy;
let sinkClient: Client;
const sinks: OrdersSink[] = [];

async function startSink(): Promise<OrdersSink> {
  const sink = await startOrdersSink({ kafka, registry, elasticsearch: sinkClient, logger: quietLogger, prefix, bulkSize: 3, retryBackoff: { initialMs: 50, maxMs: 500 } });
  sinks.push(sink);
  await eventually(() => sink.isReady, 'the sink to join its consumer group');
  return sink;
}

function order(id: string, customerId: number, product: Product, state: OrderState = 'CREATED'): Order {
  return { id, customerId, state, product, quantity: 2, price: 12.5 };
}

async function produce(orders: Order[]): Promise<void> {
  const messages = await Promise.all(orders.map(async (value) => ({ topic: names.topic, key: stringSerde.serialize(value.id), value: await orderSerdes.value.serialize(value) })));
  await producer.send({ messages });
}

/** The documents of the index (after a refresh, so the last writes are searchable). */
async function documents(query: object = { match_all: {} }): Promise<Map<string, Order>> {
  await elasticsearch.indices.refresh({ index: names.index });
  const answer = await elasticsearch.search<Order>({ index: names.index, query, size: 1_000 });
  return new Map(answer.hits.hits.map((hit) => [hit._id!, hit._source!]));
}

async function statesOf(): Promise<Record<string, OrderState>> {
  const sorted = [...(await documents())].sort(([a], [b]) => a.localeCompare(b));
  return Object.fromEntries(sorted.map(([id, document]) => [id, document.state]));
}

/** The group's committed offset per partition, -1 where it committed nothing. */
async function committedOffsets(): Promise<Record<number, string>> {
  const partitions = await allPartitions(kafka.admin(), [names.topic]);
  const committed = (await groupOffsets(kafka.admin(), names.groupId, partitions)).get(names.topic);
  return Object.fromEntries(partitions.get(names.topic)!.map((partition) => [partition, String(committed?.get(partition) ?? -1)]));
}

async function endOffsets(): Promise<Record<number, string>> {
  const ends = await partitionEnds(kafka.admin(), await allPartitions(kafka.admin(), [names.topic]), false);
  return Object.fromEntries([...(ends.get(names.topic) ?? [])].map(([partition, end]) => [partition, String(end)]));
}

beforeAll(async () => {
  proxy = await startElasticsearchProxy(elasticsearchUrl);
  sinkClient = createElasticsearchClient({ ELASTICSEARCH_URL: proxy.url });
});

afterAll(async () => {
  await Promise.all(sinks.map((sink) => sink.stop()));
  await producer.close();
  await sinkClient?.close();
  await proxy?.close();
  await cleanUp(kafka, prefix);
  await kafka.close();
  await elasticsearch.close();
});

describe('orders sink (local Elasticsearch sink worker)', () => {
  it('indexes every order with its final state under the explicit mapping, searchable by term', async () => {
    await startSink();
    await produce([order('o1', 1, 'JUMPERS'), order('o2', 2, 'UNDERPANTS'), order('o3', 2, 'STOCKINGS'), order('o4', 3, 'JUMPERS'), order('o5', 4, 'JUMPERS')]);
    await eventually(async () => (await documents()).size === 5, 'the CREATED orders to be indexed');
    await produce([order('o1', 1, 'JUMPERS', 'VALIDATED'), order('o2', 2, 'UNDERPANTS', 'FAILED'), order('o3', 2, 'STOCKINGS', 'VALIDATED')]);
    await produce([order('o4', 3, 'JUMPERS', 'FAILED'), order('o5', 4, 'JUMPERS', 'VALIDATED')]);

    const finalStates = { o1: 'VALIDATED', o2: 'FAILED', o3: 'VALIDATED', o4: 'FAILED', o5: 'VALIDATED' };
    await eventually(async () => JSON.stringify(await statesOf()) === JSON.stringify(finalStates), 'every order to hold its final state');
    expect((await documents()).get('o2')).toEqual(order('o2', 2, 'UNDERPANTS', 'FAILED'));

    const mapping = await elasticsearch.indices.getMapping({ index: names.index });
    const properties = mapping[names.index]!.mappings.properties!;
    expect(Object.fromEntries(Object.entries(properties).map(([field, definition]) => [field, definition.type]))).toEqual(ordersSinkJob.mapping);

    const ids = async (query: object) => [...(await documents(query)).keys()].sort();
    expect(await ids({ term: { state: 'VALIDATED' } })).toEqual(['o1', 'o3', 'o5']);
    expect(await ids({ term: { customerId: 2 } })).toEqual(['o2', 'o3']);
    expect(await ids({ term: { product: 'JUMPERS' } })).toEqual(['o1', 'o4', 'o5']);
  });

  it('resumes from its committed offsets after a restart: nothing lost, nothing duplicated, latest state kept', async () => {
    await Promise.all(sinks.splice(0).map((sink) => sink.stop()));
    await produce([order('o6', 5, 'STOCKINGS'), order('o7', 6, 'UNDERPANTS')]);
    await startSink();
    await produce([order('o6', 5, 'STOCKINGS', 'VALIDATED'), order('o7', 6, 'UNDERPANTS', 'FAILED')]);

    const expected = { o1: 'VALIDATED', o2: 'FAILED', o3: 'VALIDATED', o4: 'FAILED', o5: 'VALIDATED', o6: 'VALIDATED', o7: 'FAILED' };
    await eventually(async () => JSON.stringify(await statesOf()) === JSON.stringify(expected), 'the orders produced around the restart');
    // Each document's version is the offset of its order's last record: no older record overwrote it.
    const records = await readToEnd(kafka, names.topic);
    const lastOffsets = new Map(records.map(({ key, offset }) => [key!.toString(), offset]));
    await elasticsearch.indices.refresh({ index: names.index });
    const hits = (await elasticsearch.search({ index: names.index, version: true, size: 100 })).hits.hits;
    expect(Object.fromEntries(hits.map((hit) => [hit._id, hit._version]))).toEqual(Object.fromEntries(lastOffsets));
    await eventually(async () => JSON.stringify(await committedOffsets()) === JSON.stringify(await endOffsets()), 'the offsets to be committed to the end');
  });

  it('waits out Elasticsearch being down, 429 and 503 answers without skipping or committing', async () => {
    const committedBefore = await committedOffsets();
    proxy.mode = 'down';
    await produce([order('o8', 7, 'JUMPERS'), order('o9', 8, 'STOCKINGS')]);
    await eventually(() => proxy.refusedBulks >= 2, 'the sink to retry against a refused connection');
    proxy.mode = 'bulk-429';
    const refused = proxy.refusedBulks;
    await eventually(() => proxy.refusedBulks >= refused + 2, 'the sink to retry after 429');
    proxy.mode = 'bulk-503';
    await eventually(() => proxy.refusedBulks >= refused + 4, 'the sink to retry after 503');
    expect(await committedOffsets()).toEqual(committedBefore);
    expect((await documents()).has('o8')).toBe(false);

    proxy.mode = 'pass';
    await eventually(async () => {
      const indexed = await documents();
      return indexed.has('o8') && indexed.has('o9');
    }, 'the orders held back while Elasticsearch was failing', 60_000);
    await eventually(async () => JSON.stringify(await committedOffsets()) === JSON.stringify(await endOffsets()), 'the offsets to be committed after the retry');
  });

  it('sends undecodable records to <sink>.dlq with the reason in headers and indexes the records after them', async () => {
    const key = stringSerde.serialize('o-poison');
    const valid = await orderSerdes.value.serialize(order('o-poison', 9, 'UNDERPANTS'));
    await producer.send({
      messages: [
        { topic: names.topic, key, value: Buffer.from('not avro at all') },
        { topic: names.topic, key, value: frame(2_000_000_000, Buffer.from([2, 4])) },
        { topic: names.topic, value: valid },
        { topic: names.topic, key, value: valid },
      ],
    });
    await eventually(async () => (await documents()).get('o-poison')?.state === 'CREATED', 'the record after the poison records to be indexed');

    const deadLetters = await readToEnd(kafka, names.deadLetterTopic);
    const summary = deadLetters.map((record) => {
      const header = (name: string) => record.headers[`__connect.errors.${name}`]?.toString();
      return {
        key: record.key?.toString() ?? null,
        value: record.value?.toString('hex'),
        stage: header('stage'),
        topic: header('topic'),
        offset: header('offset'),
        connector: header('connector.name'),
        exception: header('exception.class.name'),
        message: header('exception.message'),
      };
    });
    const common = { topic: names.topic, connector: ordersSinkJob.name, offset: expect.stringMatching(/^\d+$/) };
    // The null-keyed record lands on any partition, so only the keyed ones keep their relative order.
    expect(summary.filter((letter) => letter.key !== null)).toEqual([
      { ...common, key: 'o-poison', value: Buffer.from('not avro at all').toString('hex'), stage: 'VALUE_CONVERTER', exception: 'SerdeError', message: expect.stringMatching(/magic byte/) },
      { ...common, key: 'o-poison', value: expect.any(String), stage: 'VALUE_CONVERTER', exception: 'SerdeError', message: expect.stringMatching(/schema id 2000000000/) },
    ]);
    expect(summary.filter((letter) => letter.key === null)).toEqual([
      { ...common, key: null, value: valid.toString('hex'), stage: 'KEY_CONVERTER', exception: 'Error', message: expect.stringMatching(/no key/) },
    ]);
  });
});
