/**
 * Benchmarks the streams runtime on the real broker: a stateless map and a stateful count,
 * each under at-least-once and exactly-once. Per scenario it measures throughput (a burst of
 * pre-produced records, first output to last output), end-to-end latency (an open-loop run
 * at a fixed rate) and the process memory afterwards. Run with `npm run bench:streams -- --help`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createKafka, createLogger, exitOnStartupError, kafkaConfig, loadConfig } from '@ecosystem/platform';
import {
  createTopics,
  encodeHeaders,
  followTopics,
  KafkaStreams,
  StreamsBuilder,
  stringSerde,
  type BytesProducer,
  type KafkaClients,
  type ProcessingGuarantee,
  type RuntimeLogger,
  type Topology,
  type TopicReader,
} from 'kstreams';

interface Options {
  records: number;
  rate: number;
  seconds: number;
  keys: number;
  batchSize: number;
  commitIntervalMs: number;
  stallSeconds: number;
  brokers: string;
  only?: string[];
  verbose?: boolean;
}

interface Scenario {
  name: string;
  kind: 'map' | 'count';
  guarantee: ProcessingGuarantee;
}

interface Result {
  scenario: string;
  records: number;
  produceRecordsPerSecond: number;
  throughputRecordsPerSecond: number;
  latencyRecords: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  duplicates: number;
  rebalances: number;
  runtimeWarnings: number;
  rssMiB: number;
  heapUsedMiB: number;
}

const scenarios: Scenario[] = [
  { name: 'map/at-least-once', kind: 'map', guarantee: 'at-least-once' },
  { name: 'map/exactly-once', kind: 'map', guarantee: 'exactly-once' },
  { name: 'count/at-least-once', kind: 'count', guarantee: 'at-least-once' },
  { name: 'count/exactly-once', kind: 'count', guarantee: 'exactly-once' },
];

const countSerde = { serialize: (value: number) => Buffer.from(String(value)), deserialize: (bytes: Buffer) => Number(bytes.toString()) };
const interrupted = new AbortController();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (text: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}`);
const mebibytes = (bytes: number) => Math.round(bytes / 2 ** 20);

/** Prints the runtime's warnings and errors (and, verbose, its info), counting the warnings and keeping the last error. */
function benchLogger(verbose: boolean, counter: { warnings: number; lastError?: string }): RuntimeLogger {
  const print = (level: string) => (fields: object, message: string) => progress(`  runtime ${level}: ${message} ${JSON.stringify(fields)}`);
  const quiet = () => undefined;
  return {
    debug: quiet,
    info: verbose ? print('info') : quiet,
    warn: (fields, message) => {
      counter.warnings += 1;
      print('warn')(fields, message);
    },
    error: (fields, message) => {
      counter.warnings += 1;
      counter.lastError = `${message} ${JSON.stringify(fields)}`;
      print('error')(fields, message);
    },
  };
}

function buildTopology(kind: Scenario['kind'], input: string, output: string): Topology {
  const builder = new StreamsBuilder();
  const stream = builder.stream(input, { key: stringSerde, value: stringSerde });
  if (kind === 'map') stream.mapValues((value) => value.toUpperCase()).to(output, { key: stringSerde, value: stringSerde });
  else stream.groupByKey().count({ storeName: 'counts' }).toStream().to(output, { key: stringSerde, value: countSerde });
  return builder.build();
}

type BenchMessage = { topic: string; key: Buffer; value: Buffer; headers: Map<Buffer, Buffer> };

/** Record `seq` carries its sequence number and its send time (epoch ms) in headers. */
function benchMessages(topic: string, firstSeq: number, count: number, keys: number): BenchMessage[] {
  const sentAt = String(Date.now());
  return Array.from({ length: count }, (_, index) => {
    const seq = firstSeq + index;
    return { topic, key: Buffer.from(`key-${seq % keys}`), value: Buffer.from(`value-${seq}`), headers: encodeHeaders({ seq: String(seq), 'sent-at': sentAt }) };
  });
}

/**
 * Reads the output topic (committed records, by offset) and records, per input sequence number,
 * the first arrival. Records below `burst` belong to the throughput run, the rest to the latency run.
 */
class OutputReader {
  private readonly seen: Uint8Array;
  private reader: TopicReader | undefined;
  burstSeen = 0;
  firstBurstArrival = 0;
  lastBurstArrival = 0;
  duplicates = 0;
  unlabelled = 0;
  readonly latencies: number[] = [];

  constructor(
    private readonly clients: KafkaClients,
    private readonly topic: string,
    private readonly name: string,
    private readonly burst: number,
    total: number,
  ) {
    this.seen = new Uint8Array(total);
  }

  /** Resolves once the reader reads the topic from its beginning, so no output arrives unobserved. */
  async start(): Promise<void> {
    this.reader = await followTopics(this.clients, [this.topic], { from: 'beginning', name: this.name }, (_topic, _partition, records) => {
      const arrivedAt = Date.now();
      for (const record of records) this.record(Number(record.headers.seq?.toString()), Number(record.headers['sent-at']?.toString()), arrivedAt);
    });
  }

  private record(seq: number, sentAt: number, arrivedAt: number): void {
    if (!Number.isInteger(seq) || seq < 0 || seq >= this.seen.length) {
      if (this.unlabelled++ === 0) progress(`  warning: output record without a valid seq header in ${this.topic}; skipping such records`);
      return;
    }
    if (this.seen[seq]) {
      this.duplicates += 1;
      return;
    }
    this.seen[seq] = 1;
    if (seq < this.burst) {
      if (this.burstSeen === 0) this.firstBurstArrival = arrivedAt;
      this.lastBurstArrival = arrivedAt;
      this.burstSeen += 1;
    } else {
      this.latencies.push(arrivedAt - sentAt);
    }
  }

  async stop(): Promise<void> {
    await this.reader?.close();
  }
}

/** Records per send: a send over ~1 MB to one partition fails with MESSAGE_TOO_LARGE. */
const maxRecordsPerSend = 1_000;

/** Sends records [firstSeq, firstSeq + count) as fast as the broker takes them, `batchSize` per send. */
async function produceBurst(producer: BytesProducer, topic: string, firstSeq: number, count: number, options: Options): Promise<void> {
  const perSend = Math.min(options.batchSize, maxRecordsPerSend);
  for (let sent = 0; sent < count; sent += perSend) {
    interrupted.signal.throwIfAborted();
    await producer.send({ messages: benchMessages(topic, firstSeq + sent, Math.min(perSend, count - sent), options.keys) });
  }
}

/**
 * Open loop: every few ms queues what is due at `rate`, whether or not earlier records were
 * acknowledged. The idempotent producer takes one send at a time, so what is queued while a send
 * is in flight goes out in the next one; a record's latency counts from when it was due.
 */
async function produceAtRate(producer: BytesProducer, topic: string, firstSeq: number, options: Options): Promise<void> {
  const total = Math.round(options.rate * options.seconds);
  const started = performance.now();
  let queue: BenchMessage[] = [];
  let sending: Promise<void> | undefined;
  let failure: unknown;
  const drain = async () => {
    while (queue.length > 0 && failure === undefined) {
      const messages = queue.splice(0, maxRecordsPerSend);
      await producer.send({ messages }).catch((error: unknown) => (failure ??= error));
    }
    sending = undefined;
  };
  for (let sent = 0; sent < total; ) {
    interrupted.signal.throwIfAborted();
    if (failure) throw failure;
    const due = Math.min(total, Math.floor(((performance.now() - started) * options.rate) / 1000)) - sent;
    if (due > 0) {
      queue = queue.concat(benchMessages(topic, firstSeq + sent, due, options.keys));
      sending ??= drain();
      sent += due;
    }
    await sleep(5);
  }
  while (sending) await sending;
  if (failure) throw failure;
}

/** Waits until `count()` reaches `target`; fails when the app errs or nothing moves for `stallSeconds`. */
async function waitFor(what: string, count: () => number, target: number, app: KafkaStreams, counters: { lastError?: string }, stallSeconds: number): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  let lastReport = Date.now();
  while (count() < target) {
    interrupted.signal.throwIfAborted();
    if (app.state === 'error') throw new Error(`the app failed while waiting for ${what}${counters.lastError ? `: ${counters.lastError}` : ''}`);
    if (count() !== last) [last, lastChange] = [count(), Date.now()];
    if (Date.now() - lastChange > stallSeconds * 1000) throw new Error(`no progress for ${stallSeconds} s waiting for ${what}: ${count()} of ${target}`);
    if (Date.now() - lastReport >= 3_000) {
      progress(`  ${what}: ${count()} / ${target}`);
      lastReport = Date.now();
    }
    await sleep(50);
  }
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? Number.NaN;
}

/** Deletes every topic and consumer group whose name starts with the scenario's application id. */
async function cleanUp(clients: KafkaClients, prefix: string): Promise<void> {
  const admin = clients.admin();
  const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics });
  const groups = [...(await admin.listGroups()).keys()].filter((group) => group.startsWith(prefix));
  if (groups.length > 0) await admin.deleteGroups({ groups });
  progress(`  deleted topics ${topics.join(', ')} and groups ${groups.join(', ')}`);
}

async function runScenario(scenario: Scenario, clients: KafkaClients, options: Options): Promise<Result> {
  const applicationId = `bench-${scenario.kind}-${scenario.guarantee === 'exactly-once' ? 'eos' : 'alos'}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  const [input, output] = [`${applicationId}-input`, `${applicationId}-output`];
  const latencyRecords = Math.round(options.rate * options.seconds);
  const stateDirectory = await mkdtemp(path.join(os.tmpdir(), 'streams-bench-'));
  const counters: { warnings: number; rebalances: number; lastError?: string } = { warnings: 0, rebalances: 0 };
  const logger = benchLogger(options.verbose ?? false, counters);
  const app = new KafkaStreams({ applicationId, topology: buildTopology(scenario.kind, input, output), clients, stateDirectory, guarantee: scenario.guarantee, commitIntervalMs: options.commitIntervalMs, logger });
  app.onStateChange((state, previous) => {
    if (previous === 'running' && state === 'rebalancing') counters.rebalances += 1;
  });
  const reader = new OutputReader(clients, output, `${applicationId}-reader`, options.records, options.records + latencyRecords);
  const producer = clients.producer();
  try {
    progress(`${scenario.name}: creating ${input} and ${output}, starting ${applicationId}`);
    await createTopics(clients.admin(), [input, output].map((name) => ({ name, partitions: 3, compacted: false })));
    await app.start();
    await waitFor('the app to be ready', () => Number(app.isReady), 1, app, counters, 60);
    await reader.start();

    progress(`${scenario.name}: throughput run, producing ${options.records} records`);
    const produceStarted = Date.now();
    await produceBurst(producer, input, 0, options.records, options);
    const produceMs = Date.now() - produceStarted;
    await waitFor('throughput outputs', () => reader.burstSeen, options.records, app, counters, options.stallSeconds);

    progress(`${scenario.name}: latency run, ${options.rate} records/s for ${options.seconds} s`);
    await produceAtRate(producer, input, options.records, options);
    await waitFor('latency outputs', () => reader.latencies.length, latencyRecords, app, counters, options.stallSeconds);

    const memory = process.memoryUsage();
    const sorted = [...reader.latencies].sort((a, b) => a - b);
    return {
      scenario: scenario.name,
      records: options.records,
      produceRecordsPerSecond: Math.round(options.records / (Math.max(1, produceMs) / 1000)),
      throughputRecordsPerSecond: Math.round(options.records / (Math.max(1, reader.lastBurstArrival - reader.firstBurstArrival) / 1000)),
      latencyRecords: sorted.length,
      latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? Number.NaN },
      duplicates: reader.duplicates,
      rebalances: counters.rebalances,
      runtimeWarnings: counters.warnings,
      rssMiB: mebibytes(memory.rss),
      heapUsedMiB: mebibytes(memory.heapUsed),
    };
  } finally {
    progress(`${scenario.name}: closing and cleaning up`);
    await producer.close().catch(() => undefined);
    await reader.stop().catch(() => undefined);
    await app.close();
    await cleanUp(clients, applicationId).catch((error: unknown) => progress(`  clean-up failed: ${String(error)}`));
    await rm(stateDirectory, { recursive: true, force: true });
  }
}

function printTable(results: Result[]): void {
  const header = ['scenario', 'records', 'produce rec/s', 'throughput rec/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'dups', 'rebal', 'warns', 'rss MiB', 'heap MiB'];
  const rows = results.map((result) => [result.scenario, result.records, result.produceRecordsPerSecond, result.throughputRecordsPerSecond, result.latencyMs.p50, result.latencyMs.p95, result.latencyMs.p99, result.latencyMs.max, result.duplicates, result.rebalances, result.runtimeWarnings, result.rssMiB, result.heapUsedMiB].map(String));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  for (const row of [header, widths.map((width) => '-'.repeat(width)), ...rows]) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  '));
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError('expected a positive integer');
  return value;
}

async function main(): Promise<void> {
  const options = new Command()
    .name('npm run bench:streams --')
    .description('Benchmarks kstreams on a real broker: map and count, at-least-once and exactly-once.\nProgress goes to stderr; the table and a JSON summary line go to stdout.')
    .option('--records <n>', 'records of the throughput run, per scenario', positiveInteger, 50_000)
    .option('--rate <n>', 'records per second of the open-loop latency run', positiveInteger, 1_000)
    .option('--seconds <n>', 'duration of the latency run', positiveInteger, 10)
    .option('--keys <n>', 'distinct keys', positiveInteger, 1_000)
    .option('--batch-size <n>', 'records per producer send in the throughput run', positiveInteger, 500)
    .option('--commit-interval-ms <n>', 'commitIntervalMs of the apps', positiveInteger, 100)
    .option('--stall-seconds <n>', 'give up on a scenario when no output arrives for this long', positiveInteger, 60)
    .option('--brokers <list>', 'comma-separated brokers', process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .option('--verbose', "also print the runtime's info logs (its warnings and errors are always printed)")
    .addOption(new Option('--only <names...>', 'scenarios to run (default: all)').choices(scenarios.map((scenario) => scenario.name)))
    .parse()
    .opts<Options>();

  const selected = scenarios.filter((scenario) => !options.only || options.only.includes(scenario.name));
  process.once('SIGINT', () => interrupted.abort(new Error('interrupted')));

  // TLS and SASL come from the environment (KAFKA_SECURITY_PROTOCOL...), read as every process of the project reads them.
  const settings = (() => {
    try {
      return loadConfig(kafkaConfig, { ...process.env, KAFKA_BROKERS: options.brokers });
    } catch (error) {
      return exitOnStartupError('streams-bench')(error);
    }
  })();
  const clients = createKafka({ clientId: 'streams-bench', config: settings, logger: createLogger('streams-bench', 'silent') });
  const results: Result[] = [];
  const failures: Array<{ scenario: string; error: string }> = [];
  try {
    for (const scenario of selected) {
      try {
        results.push(await runScenario(scenario, clients, options));
      } catch (error) {
        failures.push({ scenario: scenario.name, error: error instanceof Error ? error.message : String(error) });
        progress(`${scenario.name} FAILED: ${String(error)}`);
        if (interrupted.signal.aborted) break;
      }
    }
  } finally {
    await clients.close();
  }
  printTable(results);
  console.log(JSON.stringify({ benchmark: 'streams', options, results, failures, node: process.version, cpus: os.availableParallelism() }));
  process.exitCode = failures.length > 0 ? 1 : 0;
}

await main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
// A normal run ends by itself; this also ends it when a failed scenario left a client retrying.
process.exit();
