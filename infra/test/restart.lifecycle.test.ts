import { Client } from '@elastic/elasticsearch';
import { createKafka, createLogger, elasticsearchConnection, loadInfrastructureConfig } from '@ecosystem/platform';
import { createTopics, type KafkaClients } from 'kstreams';
import { describe, expect, it } from 'vitest';
import { consumeUntil } from '../../test/support/kafka.ts';
import { down, status, up } from '../src/launcher.ts';

/** The servers and how to reach them, read by the project's one configuration loader. */
const settings = loadInfrastructureConfig();
const registryUrl = settings.SCHEMA_REGISTRY_URL;
const testKafka = () => createKafka({ clientId: 'lifecycle-test', config: settings, logger: createLogger('lifecycle-test', 'silent') });

async function readAll(clients: KafkaClients, topic: string): Promise<string[]> {
  const records = await consumeUntil(clients, topic, (seen) => seen.length > 0);
  return records.map((record) => record.value?.toString() ?? '');
}

describe('infrastructure lifecycle', () => {
  it('keeps topics, schemas and documents across down and up', async () => {
    const stamp = Date.now();
    const topic = `lifecycle-${stamp}`;
    const subject = `lifecycle-${stamp}-value`;
    const index = `lifecycle-${stamp}`;
    const kafka = testKafka();

    await createTopics(kafka.admin(), [{ name: topic, partitions: 1, compacted: false }]);
    const producer = kafka.producer();
    await producer.send({ messages: [{ topic, key: Buffer.from('k'), value: Buffer.from('kept') }] });
    await producer.close();
    // The admin's connections die with the broker: a new set of clients reads after the restart.
    await kafka.close();

    const schema = JSON.stringify({ type: 'record', name: 'Kept', fields: [{ name: 'a', type: 'string' }] });
    const registered = await fetch(`${registryUrl}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema }),
    });
    const { id } = (await registered.json()) as { id: number };

    const elasticsearch = new Client(elasticsearchConnection(settings));
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

    const afterRestartKafka = testKafka();
    try {
      expect(await readAll(afterRestartKafka, topic)).toEqual(['kept']);
    } finally {
      await afterRestartKafka.close();
    }
    const byId = await fetch(`${registryUrl}/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
    expect(JSON.parse(((await byId.json()) as { schema: string }).schema)).toEqual(JSON.parse(schema));
    const afterRestart = new Client(elasticsearchConnection(settings));
    const document = await afterRestart.get<{ kept: boolean }>({ index, id: 'doc' });
    expect(document._source).toEqual({ kept: true });
    await afterRestart.indices.delete({ index });
    await afterRestart.close();
  });
});
