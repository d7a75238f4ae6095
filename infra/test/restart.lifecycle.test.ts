import { Client } from '@elastic/elasticsearch';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { down, status, up } from '../src/launcher.ts';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const elasticsearchUrl = process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';

async function readAll(kafka: Kafka, topic: string): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
        resolve();
      },
    });
  });
  await consumer.disconnect();
  return values;
}

describe('infrastructure lifecycle', () => {
  it('keeps topics, schemas and documents across down and up', async () => {
    const stamp = Date.now();
    const topic = `lifecycle-${stamp}`;
    const subject = `lifecycle-${stamp}-value`;
    const index = `lifecycle-${stamp}`;
    const kafka = new Kafka({ clientId: 'lifecycle-test', brokers, logLevel: logLevel.NOTHING });

    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'kept' }] });
    await producer.disconnect();

    const schema = JSON.stringify({ type: 'record', name: 'Kept', fields: [{ name: 'a', type: 'string' }] });
    const registered = await fetch(`${registryUrl}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema }),
    });
    const { id } = (await registered.json()) as { id: number };

    const elasticsearch = new Client({ node: elasticsearchUrl });
    await elasticsearch.indices.create({ index, settings: { number_of_replicas: 0 } });
    await elasticsearch.index({ index, id: 'doc', document: { kept: true }, refresh: 'wait_for' });
    await elasticsearch.close();

    await down();
    expect((await status()).map((server) => server.state)).toEqual(['stopped', 'stopped', 'stopped']);
    const messages: string[] = [];
    await down(undefined, (line) => messages.push(line));
    expect(messages).toEqual(['elasticsearch: not running', 'registry: not running', 'kafka: not running']);

    await up();
    expect((await status()).map((server) => server.state)).toEqual(['healthy', 'healthy', 'healthy']);

    expect(await readAll(kafka, topic)).toEqual(['kept']);
    const byId = await fetch(`${registryUrl}/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
    expect(JSON.parse(((await byId.json()) as { schema: string }).schema)).toEqual(JSON.parse(schema));
    const afterRestart = new Client({ node: elasticsearchUrl });
    const document = await afterRestart.get<{ kept: boolean }>({ index, id: 'doc' });
    expect(document._source).toEqual({ kept: true });
    await afterRestart.indices.delete({ index });
    await afterRestart.close();
  });
});
