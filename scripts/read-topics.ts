/**
 * The last records of every topic, decoded: keys by their real type, Avro values through the
 * schema registry, stock as numbers; then the fraud view of order-enrichment.
 *
 *   npm run read-topics -- --last 5          # readable table
 *   npm run read-topics -- --json            # one JSON object per record
 */
import { Command, Option } from 'commander';
import { fetchWriterType, Topics, topicSerdes, unframe, type TopicName } from '@ecosystem/avro';
import { positiveInteger } from '@ecosystem/infra';
import { connectKafka, createLogger, createSchemaRegistryClient, exitOnStartupError, loadInfrastructureConfig } from '@ecosystem/platform';
import { allPartitions, beginningOffsets, endOffsets, TopicReader, type FetchedRecord, type ReadRange } from 'kstreams';

const options = new Command()
  .name('npm run read-topics --')
  .description('Prints the last records of every topic (or the ones named), decoded.')
  .addOption(new Option('--last <count>', 'records per topic').default(5).argParser(positiveInteger))
  .option('--topics <names>', 'comma-separated topic names (default: the topics of the system and the internal topics of its services)')
  .option('--all', 'every topic of the cluster')
  .option('--json', 'print JSON lines instead of a table')
  .option('--enrichment-url <url>', 'order-enrichment service for the fraud view', process.env.ENRICHMENT_URL ?? 'http://127.0.0.1:8010')
  .parse()
  .opts<{ last: number; topics?: string; all?: boolean; json?: boolean; enrichmentUrl: string }>();

const config = loadInfrastructureConfig();
const logger = createLogger('read-topics', 'silent');
const kafka = await connectKafka({ clientId: 'read-topics', config, logger }).catch(exitOnStartupError('read-topics'));
const registry = createSchemaRegistryClient(config);
const serdes = topicSerdes(registry, { prefix: config.TOPIC_PREFIX });
const known = new Map(Object.values(Topics).map((name) => [serdes[name as TopicName].topic, serdes[name as TopicName]]));
const last = options.last;

interface Row {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: unknown;
  value: unknown;
}

/** Bytes of an unknown topic: a Confluent-framed Avro value, UTF-8 text, or hex. */
async function decodeUnknown(bytes: Buffer | null): Promise<unknown> {
  if (bytes === null) return null;
  if (bytes.length > 5 && bytes[0] === 0) {
    try {
      const { schemaId, body } = unframe(bytes);
      return (await fetchWriterType(registry, schemaId)).fromBuffer(body) as unknown;
    } catch {
      // Not Avro after all: fall through.
    }
  }
  const text = bytes.toString('utf8');
  if (!text.includes('\uFFFD') && /^[\x20-\x7E\s]*$/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return `0x${bytes.toString('hex')}`;
}

async function decode(topic: string, record: FetchedRecord): Promise<{ key: unknown; value: unknown }> {
  const topicSerde = known.get(topic);
  try {
    if (topicSerde) {
      return {
        key: record.key === null ? null : topicSerde.key.deserialize(record.key),
        value: record.value === null ? null : await topicSerde.value.deserialize(record.value),
      };
    }
  } catch (error) {
    return { key: await decodeUnknown(record.key), value: `undecodable: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { key: await decodeUnknown(record.key), value: await decodeUnknown(record.value) };
}

/**
 * The newest `last` records of each partition. Transaction markers and aborted records take
 * offsets too (on a topic written in transactions, every other offset can be a marker), so a
 * partition's window grows until it holds `last` records or reaches the partition's start.
 */
async function newestRows(reader: TopicReader, partitions: Array<{ topic: string; partition: number; low: number; high: number }>): Promise<Row[]> {
  const rows: Row[] = [];
  let pending = partitions.map((bounds) => ({ ...bounds, window: last * 2 }));
  while (pending.length > 0) {
    const found = new Map<string, Row[]>();
    const ranges: ReadRange[] = pending.map(({ topic, partition, low, high, window }) => ({ topic, partition, from: Math.max(low, high - window), to: high }));
    await reader.read(ranges, async ({ topic, partition }, records) => {
      const decoded = found.get(`${topic}:${partition}`) ?? [];
      for (const record of records) decoded.push({ topic, partition, offset: String(record.offset), timestamp: new Date(record.timestamp).toISOString(), ...(await decode(topic, record)) });
      found.set(`${topic}:${partition}`, decoded);
    });
    const again: typeof pending = [];
    for (const bounds of pending) {
      const decoded = found.get(`${bounds.topic}:${bounds.partition}`) ?? [];
      if (decoded.length >= last || bounds.high - bounds.window <= bounds.low) rows.push(...decoded);
      else again.push({ ...bounds, window: bounds.window * 4 });
    }
    pending = again;
  }
  return rows;
}

async function main(): Promise<void> {
  const admin = kafka.admin();
  const existing = (await admin.listTopics()).filter((topic) => !topic.startsWith('__')).sort();
  const services = ['orders-service', 'inventory-service', 'fraud-service', 'order-details-service', 'validation-aggregator', 'order-enrichment', 'email-service', 'customers-source', 'orders-sink', 'jdbc-source-customers', 'elasticsearch-sink-orders'];
  const ours = (topic: string) => known.has(topic) || services.some((service) => topic.startsWith(`${config.TOPIC_PREFIX}${service}-`) || topic === `${config.TOPIC_PREFIX}${service}.dlq`);
  const wanted = options.topics ? options.topics.split(',').map((topic) => topic.trim()) : existing.filter((topic) => options.all || ours(topic));
  const missing = wanted.filter((topic) => !existing.includes(topic));
  if (missing.length > 0) console.error(`no such topics: ${missing.join(', ')}`);
  const topics = wanted.filter((topic) => existing.includes(topic));
  // Committed records only, so each range ends at the last stable offset (an open transaction ends it early).
  const partitions = await allPartitions(admin, topics);
  const [lows, highs] = await Promise.all([beginningOffsets(admin, partitions), endOffsets(admin, partitions, true)]);
  const bounds = [...highs].flatMap(([topic, ends]) => [...ends].map(([partition, high]) => ({ topic, partition, low: lows.get(topic)?.get(partition) ?? 0, high })));

  const reader = new TopicReader(kafka, logger, `read-topics-${process.pid}`);
  let rows: Row[];
  try {
    rows = await newestRows(reader, bounds);
  } finally {
    await reader.close();
    await kafka.close();
  }

  // Per topic, the newest records over all partitions.
  const byTopic = new Map<string, Row[]>();
  for (const row of rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
  for (const topic of topics) {
    const newest = (byTopic.get(topic) ?? []).sort((left, right) => left.timestamp.localeCompare(right.timestamp)).slice(-last);
    if (options.json) {
      for (const row of newest) console.log(JSON.stringify(row));
      continue;
    }
    console.log(`\n${topic} (${newest.length === 0 ? 'empty' : `last ${newest.length}`})`);
    for (const row of newest) {
      console.log(`  p${row.partition}@${row.offset.padEnd(6)} ${row.timestamp.slice(11, 23)}  ${JSON.stringify(row.key)}  ${JSON.stringify(row.value)?.slice(0, 160)}`);
    }
  }

  // GET /fraud takes at most 1,000 rows.
  const fraud = await fraudView(Math.min(last, 1_000));
  if (options.json) console.log(JSON.stringify({ view: 'fraud', rows: fraud.rows ?? null, ...(fraud.problem ? { problem: fraud.problem } : {}) }));
  else console.log(`\nfraud view (${options.enrichmentUrl}/fraud): ${fraud.problem ?? JSON.stringify(fraud.rows)}`);
}

/** The fraud rows, or what went wrong: not reachable is not the same as an error answer. */
async function fraudView(limit: number): Promise<{ rows?: unknown; problem?: string }> {
  let response: Response;
  try {
    response = await fetch(`${options.enrichmentUrl}/fraud?limit=${limit}`, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    return { problem: `not available: ${error instanceof Error ? error.message : String(error)} (is order-enrichment running?)` };
  }
  if (!response.ok) return { problem: `order-enrichment answered ${response.status}: ${(await response.text()).slice(0, 200)}` };
  return { rows: (await response.json()) as unknown };
}

await main();
