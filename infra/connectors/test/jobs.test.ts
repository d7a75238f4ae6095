import { recordSchema } from '@ecosystem/avro';
import { describe, expect, it } from 'vitest';
import {
  connectorFiles,
  customersSourceConfigProblems,
  ordersSinkConfigProblems,
  readConnectorDefinition,
  transformChain,
  type ConnectorDefinition,
} from '../src/connect-configs.ts';
import { customersSourceJob, customersSourceNames, ordersSinkJob, ordersSinkNames } from '../src/jobs.ts';

const source = readConnectorDefinition(connectorFiles.customersSource);
const sink = readConnectorDefinition(connectorFiles.ordersSink);

function withSettings(definition: ConnectorDefinition, settings: Record<string, string | undefined>): ConnectorDefinition {
  const config = { ...definition.config };
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) delete config[key];
    else config[key] = value;
  }
  return { ...definition, config };
}

const fieldNames = (record: 'Customer' | 'Order') => (JSON.parse(recordSchema(record).json) as { fields: Array<{ name: string }> }).fields.map((field) => field.name);

describe('the job descriptions', () => {
  it('map the customers columns onto exactly the fields of Customer, in order', () => {
    expect(Object.values(customersSourceJob.columns)).toEqual(fieldNames('Customer'));
    expect(customersSourceJob.columns[customersSourceJob.incrementingColumn]).toBe('id');
  });

  it('map every field of Order, and nothing else, in the index mapping', () => {
    expect(Object.keys(ordersSinkJob.mapping)).toEqual(fieldNames('Order'));
    expect(ordersSinkJob.mapping).toEqual({ id: 'keyword', customerId: 'long', state: 'keyword', product: 'keyword', quantity: 'integer', price: 'double' });
  });

  it('put the deployment prefix in front of every name the local workers use', () => {
    expect(customersSourceNames('p.')).toEqual({ topic: 'p.customers', subject: 'p.customers-value', offsetsTopic: 'p.jdbc-source-customers.offsets', deadLetterTopic: 'p.jdbc-source-customers.dlq', transactionalId: 'p.jdbc-source-customers' });
    expect(ordersSinkNames('P.')).toEqual({ topic: 'P.orders.v1', index: 'p.orders.v1', deadLetterTopic: 'P.elasticsearch-sink-orders.dlq', groupId: 'P.connect-elasticsearch-sink-orders' });
    expect(customersSourceNames()).toMatchObject({ topic: 'customers', subject: 'customers-value' });
  });
});

describe('the Connect configs agree with the job descriptions', () => {
  it('jdbc-source-customers.json does', () => {
    expect(customersSourceConfigProblems(source)).toEqual([]);
  });

  it('elasticsearch-sink-orders.json does', () => {
    expect(ordersSinkConfigProblems(sink)).toEqual([]);
  });

  it.each<[string, Record<string, string | undefined>, RegExp]>([
    ['another incrementing column', { 'incrementing.column.name': 'rowid' }, /incrementing.column.name/],
    ['another mode', { mode: 'bulk' }, /mode/],
    ['a topic prefix', { 'topic.prefix': 'sqlite-' }, /topic \(topic.prefix \+ table\)/],
    ['an int32 key', { 'transforms.idAsLong.spec': 'int32' }, /Cast\$Key spec/],
    ['a string key converter', { 'key.converter': 'org.apache.kafka.connect.storage.StringConverter' }, /key.converter/],
    ['a missing rename', { 'transforms.renameColumns.renames': 'first_name:firstName' }, /ReplaceField\$Value renames/],
    ['the key transforms in another order', { transforms: 'extractId,idToKey,idAsLong,renameColumns,idFieldAsLong,customerSchema' }, /ValueToKey, then ExtractField\$Key, then Cast\$Key/],
    ['another record name', { 'transforms.customerSchema.schema.name': 'Customer' }, /schema.name/],
    ['a record-name subject strategy', { 'value.converter.value.subject.name.strategy': 'io.confluent.kafka.serializers.subject.RecordNameStrategy' }, /subject.name.strategy/],
    ['another offsets topic', { 'offsets.storage.topic': 'connect-offsets' }, /offsets.storage.topic/],
    ['a JSON value converter', { 'value.converter': 'org.apache.kafka.connect.json.JsonConverter' }, /value.converter/],
  ])('notices a source config with %s', (_, settings, problem) => {
    expect(customersSourceConfigProblems(withSettings(source, settings))).toEqual([expect.stringMatching(problem)]);
  });

  it('notices a source config reading another table (and so writing another topic)', () => {
    expect(customersSourceConfigProblems(withSettings(source, { 'table.whitelist': 'clients' }))).toEqual([
      expect.stringMatching(/^table.whitelist is "clients"/),
      expect.stringMatching(/^topic \(topic.prefix \+ table\) is "clients"/),
    ]);
  });

  it.each<[string, Record<string, string | undefined>, RegExp]>([
    ['another topic', { topics: 'orders.v2' }, /topics/],
    ['ignored keys (generated document ids)', { 'key.ignore': 'true' }, /key.ignore/],
    ['a dynamic mapping from the schema', { 'schema.ignore': 'false' }, /schema.ignore/],
    ['upserts', { 'write.method': 'upsert' }, /write.method/],
    ['ignored tombstones', { 'behavior.on.null.values': 'ignore' }, /behavior.on.null.values/],
    ['another dead-letter topic', { 'errors.deadletterqueue.topic.name': 'dlq' }, /errors.deadletterqueue.topic.name/],
    ['no error tolerance', { 'errors.tolerance': undefined }, /errors.tolerance/],
    ['a topic-renaming transform', { transforms: 'route', 'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter' }, /transform/],
  ])('notices a sink config with %s', (_, settings, problem) => {
    expect(ordersSinkConfigProblems(withSettings(sink, settings))).toEqual([expect.stringMatching(problem)]);
  });

  it('reads a transform chain in order with each transform settings', () => {
    expect(transformChain({ transforms: 'b, a', 'transforms.a.type': 'A', 'transforms.b.type': 'B', 'transforms.b.spec': 'x' })).toEqual([{ type: 'B', spec: 'x' }, { type: 'A' }]);
    expect(transformChain({})).toEqual([]);
  });
});
