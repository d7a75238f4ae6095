/**
 * The quick start of kstreams' README: counts the words of a few lines with exactly-once on a
 * local broker, prints each count as it is committed, asks the store for one word, and stops.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npx tsx src/main.ts "some words" "some more words"
 */
import { createTopics, followTopics, KafkaClients, KafkaStreams, longSerde, stringSerde, type ReadOnlyKeyValueStore } from 'kstreams';
import { countStore, wordCountTopology } from './topology.ts';

const lines = process.argv.length > 2 ? process.argv.slice(2) : ['the quick brown fox', 'jumps over the lazy dog', 'the end'];
const clients = new KafkaClients({ clientId: 'word-count', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') });

// The application's own topics; the internal ones (repartition, changelog) it creates itself.
await createTopics(clients.admin(), [
  { name: 'word-count-lines', partitions: 3, compacted: false },
  { name: 'word-count-counts', partitions: 3, compacted: false },
]);

const app = new KafkaStreams({
  applicationId: 'word-count',
  topology: wordCountTopology('word-count-lines', 'word-count-counts'),
  clients,
  guarantee: 'exactly-once', // the default, written out
  stateDirectory: '.kstreams-state',
});
await app.start();

const words = lines.flatMap((line) => line.toLowerCase().split(/\W+/).filter((word) => word.length > 0));

// Print the counts as they are committed (read_committed), until every word of these lines is counted.
let printed = 0;
let allPrinted = () => {};
const done = new Promise<void>((resolve) => (allPrinted = resolve));
const reader = await followTopics(clients, ['word-count-counts'], { from: 'end', name: 'word-count-printer' }, (_topic, _partition, records) => {
  for (const record of records) console.log(`${stringSerde.deserialize(record.key!)}: ${longSerde.deserialize(record.value!)}`);
  printed += records.length;
  if (printed >= words.length) allPrinted();
});

const producer = clients.producer();
await producer.send({ messages: lines.map((line) => ({ topic: 'word-count-lines', value: Buffer.from(line) })) });
await producer.close();
await done;

// An interactive query: the count of a word, from the store of the task that owns it (here, this instance).
const word = words[0]!;
const store = app.localStore<ReadOnlyKeyValueStore<string, number>>(countStore, word);
console.log(`the store "${countStore}" says "${word}" was seen ${await store?.get(word)} times`);

await reader.close();
await app.close();
await clients.close();
