import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { recordSchema } from '@ecosystem/avro';
import { customersSourceJob, ordersSinkJob } from './jobs.ts';

/** A connector as Connect's REST API takes it: `POST /connectors` body, or `config` for `PUT /connectors/{name}/config`. */
export interface ConnectorDefinition {
  name: string;
  config: Record<string, string>;
}

export const connectorFiles = {
  customersSource: fileURLToPath(new URL('../jdbc-source-customers.json', import.meta.url)),
  ordersSink: fileURLToPath(new URL('../elasticsearch-sink-orders.json', import.meta.url)),
};

export function readConnectorDefinition(file: string): ConnectorDefinition {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`${file}: expected {"name", "config"}`);
  const { name, config } = parsed as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') throw new Error(`${file}: "name" must be a non-empty string`);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`${file}: "config" must be an object`);
  const entries = Object.entries(config);
  const notText = entries.filter(([, value]) => typeof value !== 'string').map(([key]) => key);
  if (notText.length > 0) throw new Error(`${file}: Connect settings are strings; not a string: ${notText.join(', ')}`);
  return { name, config: Object.fromEntries(entries) as Record<string, string> };
}

const converters = {
  int64: 'org.apache.kafka.connect.converters.LongConverter',
  string: 'org.apache.kafka.connect.storage.StringConverter',
  avro: 'io.confluent.connect.avro.AvroConverter',
};
const transformTypes = {
  valueToKey: 'org.apache.kafka.connect.transforms.ValueToKey',
  extractKeyField: 'org.apache.kafka.connect.transforms.ExtractField$Key',
  castKey: 'org.apache.kafka.connect.transforms.Cast$Key',
  renameValueFields: 'org.apache.kafka.connect.transforms.ReplaceField$Value',
  castValue: 'org.apache.kafka.connect.transforms.Cast$Value',
  valueSchemaName: 'org.apache.kafka.connect.transforms.SetSchemaMetadata$Value',
};

/** A connector's transforms in chain order, each as its settings without the `transforms.<alias>.` prefix. */
export function transformChain(config: Record<string, string>): Array<Record<string, string>> {
  const aliases = (config['transforms'] ?? '').split(',').map((alias) => alias.trim()).filter(Boolean);
  return aliases.map((alias) => {
    const prefix = `transforms.${alias}.`;
    return Object.fromEntries(Object.entries(config).filter(([key]) => key.startsWith(prefix)).map(([key, value]) => [key.slice(prefix.length), value]));
  });
}

type Expectation = [setting: string, actual: string | undefined, expected: string];

function mismatches(expectations: Expectation[]): string[] {
  return expectations.filter(([, actual, expected]) => actual !== expected).map(([setting, actual, expected]) => `${setting} is ${JSON.stringify(actual)}, the job says ${JSON.stringify(expected)}`);
}

/** Where the JDBC source connector config disagrees with `customersSourceJob` (empty when it agrees). */
export function customersSourceConfigProblems({ name, config }: ConnectorDefinition): string[] {
  const job = customersSourceJob;
  const chain = transformChain(config);
  const transform = (type: string) => chain.findIndex((settings) => settings['type'] === type);
  const settingOf = (type: string, setting: string) => chain[transform(type)]?.[setting];
  const renames = Object.entries(job.columns).filter(([column, field]) => column !== field).map(([column, field]) => `${column}:${field}`);
  const problems = mismatches([
    ['name', name, job.name],
    ['connector.class', config['connector.class'], 'io.confluent.connect.jdbc.JdbcSourceConnector'],
    ['mode', config['mode'], 'incrementing'],
    ['incrementing.column.name', config['incrementing.column.name'], job.incrementingColumn],
    ['table.whitelist', config['table.whitelist'], job.table],
    ['topic (topic.prefix + table)', `${config['topic.prefix'] ?? ''}${config['table.whitelist'] ?? ''}`, job.topic],
    ['poll.interval.ms', config['poll.interval.ms'], String(job.pollIntervalMs)],
    ['offsets.storage.topic', config['offsets.storage.topic'], job.offsetsTopic],
    // A row the converter refuses is skipped and logged, not a failed task (Connect has no dead-letter queue for sources).
    ['errors.tolerance', config['errors.tolerance'], 'all'],
    ['errors.log.enable', config['errors.log.enable'], 'true'],
    ['ValueToKey fields', settingOf(transformTypes.valueToKey, 'fields'), job.incrementingColumn],
    ['ExtractField$Key field', settingOf(transformTypes.extractKeyField, 'field'), job.incrementingColumn],
    ['Cast$Key spec', settingOf(transformTypes.castKey, 'spec'), job.keyType],
    ['key.converter', config['key.converter'], converters[job.keyType]],
    ['ReplaceField$Value renames', settingOf(transformTypes.renameValueFields, 'renames'), renames.join(',')],
    ['Cast$Value spec', settingOf(transformTypes.castValue, 'spec'), `${job.incrementingColumn}:int64`],
    ['SetSchemaMetadata$Value schema.name', settingOf(transformTypes.valueSchemaName, 'schema.name'), recordSchema(job.valueRecord).fullName],
    ['value.converter', config['value.converter'], converters.avro],
    // The subject is `<topic>-value` only under the default topic-name strategy.
    ['value.converter.value.subject.name.strategy', config['value.converter.value.subject.name.strategy'] ?? 'io.confluent.kafka.serializers.subject.TopicNameStrategy', 'io.confluent.kafka.serializers.subject.TopicNameStrategy'],
  ]);
  const keyChain = [transformTypes.valueToKey, transformTypes.extractKeyField, transformTypes.castKey].map(transform);
  if (keyChain.some((position, index) => position < 0 || (index > 0 && position < keyChain[index - 1]!))) {
    problems.push('transforms must run ValueToKey, then ExtractField$Key, then Cast$Key, so the key is the id as a long');
  }
  if (!config['connection.url']?.startsWith('jdbc:sqlite:')) problems.push(`connection.url must be a jdbc:sqlite: URL, got ${JSON.stringify(config['connection.url'])}`);
  if (!config['value.converter.schema.registry.url']) problems.push('value.converter.schema.registry.url is missing');
  return problems;
}

/** Where the Elasticsearch sink connector config disagrees with `ordersSinkJob` (empty when it agrees). */
export function ordersSinkConfigProblems({ name, config }: ConnectorDefinition): string[] {
  const job = ordersSinkJob;
  const problems = mismatches([
    ['name', name, job.name],
    ['connector.class', config['connector.class'], 'io.confluent.connect.elasticsearch.ElasticsearchSinkConnector'],
    ['topics', config['topics'], job.topic],
    // Document id = record key.
    ['key.ignore', config['key.ignore'], String(job.documentId !== 'key')],
    ['key.converter', config['key.converter'], converters[job.keyType]],
    ['value.converter', config['value.converter'], converters.avro],
    // The index is created with the job's explicit mapping before the connector starts.
    ['schema.ignore', config['schema.ignore'], 'true'],
    ['write.method', config['write.method'], job.writeMethod],
    ['behavior.on.null.values', config['behavior.on.null.values'], job.onNullValue],
    ['errors.tolerance', config['errors.tolerance'], 'all'],
    ['errors.deadletterqueue.topic.name', config['errors.deadletterqueue.topic.name'], job.deadLetterTopic],
    ['errors.deadletterqueue.context.headers.enable', config['errors.deadletterqueue.context.headers.enable'], 'true'],
  ]);
  // Connect names the index after the topic unless a transform renames the topic.
  if (job.index !== job.topic) problems.push(`the job's index ${job.index} differs from its topic ${job.topic}, which Connect would use`);
  if (transformChain(config).length > 0) problems.push('no transforms: a topic-renaming transform would change the index name');
  if (!config['connection.url']) problems.push('connection.url is missing');
  if (!config['value.converter.schema.registry.url']) problems.push('value.converter.schema.registry.url is missing');
  return problems;
}
