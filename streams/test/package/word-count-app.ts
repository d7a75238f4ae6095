/**
 * A user's program, compiled by the tarball test (package.integration.test.ts) in an empty
 * project against the installed package's declarations: it imports `kstreams` by name only.
 * It writes LINES (a JSON array) to a new topic INPUT_TOPIC, counts words with exactly-once into a
 * store and an output topic, asks the store for one word (an interactive query) and prints one
 * JSON report on stdout for the test to judge.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createTopics,
  followTopics,
  KafkaClients,
  KafkaStreams,
  longSerde,
  StreamsBuilder,
  stringSerde,
  type KeyOwner,
  type ReadOnlyKeyValueStore,
} from 'kstreams';

export interface WordCountReport {
  /** Every count record of the output topic, in offset order per partition. */
  outputs: Array<[word: string, count: number]>;
  /** Output offsets read past the count records: transaction markers, so > 0 under exactly-once. */
  controlRecords: number;
  query: { word: string; owner: KeyOwner; count: number | undefined };
  commits: number;
}

const setting = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const lines = JSON.parse(setting('LINES')) as string[];
const input = setting('INPUT_TOPIC');
const output = setting('OUTPUT_TOPIC');
const expected = new Map<string, number>();
for (const word of lines.flatMap((line) => line.split(' '))) expected.set(word, (expected.get(word) ?? 0) + 1);

const clients = new KafkaClients({ clientId: 'tarball-word-count', brokers: setting('BROKERS').split(',') });
await createTopics(clients.admin(), [
  { name: input, partitions: 2, compacted: false },
  { name: output, partitions: 2, compacted: false },
]);
const producer = clients.producer();
await producer.send({ messages: lines.map((line, index) => ({ topic: input, key: Buffer.from(`line-${index}`), value: Buffer.from(line) })) });
await producer.close();

const builder = new StreamsBuilder();
builder
  .stream(input, { key: stringSerde, value: stringSerde })
  .flatMapValues((line) => line.split(' '))
  .groupBy((_key, word) => word, { name: 'by-word', serdes: { key: stringSerde, value: stringSerde } })
  .count({ storeName: 'word-counts' })
  .toStream()
  .to(output, { key: stringSerde, value: longSerde });

const stateDirectory = await mkdtemp(path.join(os.tmpdir(), 'tarball-state-'));
const app = new KafkaStreams({
  applicationId: setting('APPLICATION_ID'),
  topology: builder.build(),
  clients,
  stateDirectory,
  guarantee: 'exactly-once',
  endpoint: '127.0.0.1:7000',
});
await app.start();

const outputs: Array<[string, number]> = [];
const latest = new Map<string, number>();
/** Per output partition: where the reader is (offsets of records and transaction markers alike). */
const positions = new Map<number, number>();
let counted = () => {};
let notCounted: (error: Error) => void = () => {};
const allCounted = new Promise<void>((resolve, reject) => {
  counted = resolve;
  notCounted = reject;
});
const reader = await followTopics(clients, [output], { from: 'beginning', name: 'tarball-reader' }, (_topic, partition, records, nextOffset) => {
  for (const record of records) {
    const word = stringSerde.deserialize(record.key!);
    const count = longSerde.deserialize(record.value!);
    outputs.push([word, count]);
    latest.set(word, count);
  }
  positions.set(partition, nextOffset);
  if ([...expected].every(([word, count]) => latest.get(word) === count)) counted();
});
const timeout = setTimeout(() => notCounted(new Error(`counts incomplete after 60 s: ${JSON.stringify([...latest])}`)), 60_000);
try {
  await allCounted;
  const word = lines[0]!.split(' ')[0]!;
  const owner = app.ownerOf('word-counts', word);
  const store = app.localStore<ReadOnlyKeyValueStore<string, number>>('word-counts', word);
  const report: WordCountReport = {
    outputs,
    // The topic is new, so its offsets start at 0: what was read beyond the count records are markers.
    controlRecords: [...positions.values()].reduce((sum, position) => sum + position, 0) - outputs.length,
    query: { word, owner, count: await store?.get(word) },
    commits: app.metrics().commits,
  };
  console.log(JSON.stringify(report));
} finally {
  clearTimeout(timeout);
  await reader.close();
  await app.close();
  await clients.close();
  await rm(stateDirectory, { recursive: true, force: true });
}
