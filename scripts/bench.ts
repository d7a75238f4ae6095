/**
 * The benchmark of the whole running system.
 *
 *   npm run bench -- --rates 25,50,100 --duration 20 --max-clients 32
 *   npm run bench -- --rates '' --max-clients 0 --broker-records 0 --overload 1500 --overload-duration 15
 *
 * Starts its own copy of the pipeline (isolated by a topic prefix) on the running servers, or
 * measures a running system with --url; posts orders open loop at each rate and then closed
 * loop as fast as N clients can; samples CPU and memory of every process; measures the
 * broker's own ceiling with Kafka's perf tools; prints a table and writes a JSON result and an
 * SVG plot to .local/bench/.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { Topics, topicSerdes } from '@ecosystem/avro';
import { findJava, kafkaVersion, localPaths, nonNegativeInteger, nonNegativeNumber, positiveInteger, positiveNumber, positiveNumberList, status } from '@ecosystem/infra';
import { apiTokenConfig, connectKafka, createLogger, createSchemaRegistryClient, infrastructureConfig, javaClientProperties, loadConfig } from '@ecosystem/platform';
import { allPartitions, endOffsets, type KafkaClients } from 'kstreams';
import { pipelineServices, TestSystem, type ServiceName } from '../test/e2e/system.ts';
import { measureBrokerCeiling, type BrokerCeiling } from './bench/kafka-perf.ts';
import { FinalStateWatcher, runStep, type StepResult } from './bench/load.ts';
import { runOverload, type OverloadResult } from './bench/overload.ts';
import { findProcessGroup, ResourceSampler, type ProcessUsage, type WatchedProcess } from './bench/proc.ts';
import { renderPlot } from './bench/svg.ts';
import { allServices } from './services.ts';
import { abortOnFirstInterrupt } from './interrupt.ts';
import { inspectSystem } from './system-record.ts';

const options = new Command()
  .name('npm run bench --')
  .description('Benchmarks the order pipeline end to end: throughput, POST -> final latency, read-your-writes latency, CPU and memory per process, and the broker\'s own ceiling.')
  .addOption(new Option('--rates <list>', 'open-loop rates in orders/s, comma-separated (empty: none)').default([25, 50, 100, 200, 400], '25,50,100,200,400').argParser(positiveNumberList))
  .addOption(new Option('--max-clients <count>', 'clients of the closed-loop "max" step (0: skip it)').default(64).argParser(nonNegativeInteger))
  .addOption(new Option('--duration <seconds>', 'posting time of each step').default(20).argParser(positiveNumber))
  .addOption(new Option('--drain <seconds>', 'how long a step waits for outstanding final states after its last POST').default(30).argParser(nonNegativeNumber))
  .addOption(new Option('--warmup <seconds>', 'unreported warm-up at 20 orders/s before the first step (0: none)').default(5).argParser(nonNegativeNumber))
  .addOption(new Option('--overload <rate>', 'then offer this many orders/s (more than the system carries) and report refusals, accepted orders and recovery').argParser(positiveNumber))
  .addOption(new Option('--overload-duration <seconds>', 'how long the overload lasts').default(15).argParser(positiveNumber))
  .addOption(new Option('--recovery <seconds>', 'after the overload, 20 orders/s for this long: how soon is full service back').default(10).argParser(nonNegativeNumber))
  .option('--url <url>', 'measure a running orders service (e.g. npm start\'s http://127.0.0.1:8000) instead of starting a copy')
  .option('--all-services', 'start order-enrichment and email-service too, not only the five of the pipeline')
  .addOption(new Option('--orders-instances <count>', 'orders-service instances to start').default(1).argParser(positiveInteger))
  .addOption(new Option('--commit-interval <ms>', 'COMMIT_INTERVAL_MS of the services it starts').default(100).argParser(positiveInteger))
  .option('--guarantee <guarantee>', 'PROCESSING_GUARANTEE of the services it starts (default: each service\'s own)')
  .addOption(new Option('--broker-records <count>', 'records of the broker perf test (0: skip it)').default(500_000).argParser(nonNegativeInteger))
  .addOption(new Option('--broker-record-size <bytes>', 'record size of the broker perf test').default(200).argParser(positiveInteger))
  .option('--out <directory>', 'where the JSON result and the plot go', path.join(localPaths.home, 'bench'))
  .parse()
  .opts<{
    rates: number[];
    maxClients: number;
    duration: number;
    drain: number;
    warmup: number;
    overload?: number;
    overloadDuration: number;
    recovery: number;
    url?: string;
    allServices?: boolean;
    ordersInstances: number;
    commitInterval: number;
    guarantee?: string;
    brokerRecords: number;
    brokerRecordSize: number;
    out: string;
  }>();

const config = loadConfig({ ...infrastructureConfig, ...apiTokenConfig });
const logger = createLogger('bench', 'warn');
const rates = options.rates;

// The first Ctrl-C (or SIGTERM) ends the current step and cleans up; a second one leaves at once.
const interrupted = abortOnFirstInterrupt('\ninterrupted: stopping what the benchmark started (Ctrl-C again to leave at once)');

interface MeasuredStep extends StepResult {
  machineCpuPercent: number;
  processes: ProcessUsage[];
}

/** The servers, from the launcher's pid files, or found by command line when another checkout started them. */
async function serverProcesses(): Promise<WatchedProcess[]> {
  const patterns: Record<string, RegExp> = { kafka: /\skafka\.Kafka\s/, registry: /apicurio-registry/, elasticsearch: /org\.elasticsearch\.bootstrap\.Elasticsearch/ };
  const watched: WatchedProcess[] = [];
  for (const server of await status()) {
    const pid = server.pid ?? (patterns[server.name] ? await findProcessGroup(patterns[server.name]!) : undefined);
    if (pid !== undefined) watched.push({ name: server.name, pid, group: true });
  }
  return watched;
}

/** The services of a system `npm start` runs, from its record. */
async function runningServiceProcesses(): Promise<WatchedProcess[]> {
  const state = inspectSystem();
  if (!state) return [];
  return state.running.filter((process) => allServices.some((service) => service.name === process.name)).map((process) => ({ name: process.name, pid: process.pid, group: false }));
}

/**
 * Offsets taken per order, by topic: the records written plus the commit markers of the
 * exactly-once producers (one per partition a transaction wrote to, so fewer per order at
 * higher rates).
 */
async function offsetsPerOrder(kafka: KafkaClients, prefix: string, orders: number): Promise<Record<string, number>> {
  const admin = kafka.admin();
  const topics = (await admin.listTopics()).filter((name) => name.startsWith(prefix)).sort();
  // The high watermarks: records and transaction markers alike take offsets.
  const ends = await endOffsets(admin, await allPartitions(admin, topics), false);
  const perTopic: Record<string, number> = {};
  for (const topic of topics) {
    const records = [...(ends.get(topic)?.values() ?? [])].reduce((sum, high) => sum + high, 0);
    if (records > 0) perTopic[topic.slice(prefix.length)] = records / orders;
  }
  return perTopic;
}

const milliseconds = (value: number) => (Number.isFinite(value) ? value.toFixed(value < 10 ? 1 : 0) : '-');
const megabytes = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

function printOverload(result: OverloadResult): void {
  const { recovery } = result;
  const others = Object.entries(result.otherStatuses).map(([status, count]) => `${count} x ${status}`).join(', ') || 'none';
  console.log(
    [
      `  offered ${result.offered} (${result.offeredPerSecond.toFixed(0)}/s): ${result.accepted} accepted (201), ${result.refused} refused (503), other answers: ${others}, connection errors ${result.connectionErrors}`,
      `  connection errors by cause: ${JSON.stringify(result.failures)}; refusals by reason: ${JSON.stringify(result.refusalReasons)}`,
      `  refusals: p50 ${milliseconds(result.refusal.p50)} ms, p99 ${milliseconds(result.refusal.p99)} ms, max ${milliseconds(result.refusal.max)} ms (client side)`,
      ...Object.entries(result.serverSide).map(([status, { count, p50AtMostMs, p99AtMostMs }]) => `  server side, ${count} x ${status}: p50 <= ${p50AtMostMs ?? '-'} ms, p99 <= ${p99AtMostMs ?? '-'} ms (histogram buckets, arrival -> answer)`),
      `  accepted: POST -> 201 p50 ${milliseconds(result.acceptance.p50)} ms, p99 ${milliseconds(result.acceptance.p99)} ms; POST -> final p50 ${milliseconds(result.acceptedToFinal.p50)} ms, p99 ${milliseconds(result.acceptedToFinal.p99)} ms, max ${milliseconds(result.acceptedToFinal.max)} ms`,
      `  accepted orders without a final state: ${result.acceptedWithoutFinal}`,
      `  recovery at 20/s: ${recovery.accepted} of ${recovery.offered} accepted, ${recovery.refused} refused; first 201 ${recovery.firstAcceptedMs === null ? 'never' : `${recovery.firstAcceptedMs.toFixed(0)} ms`} after the burst, no refusal from ${recovery.fullServiceMs === null ? 'never' : `${recovery.fullServiceMs.toFixed(0)} ms`} on`,
    ].join('\n'),
  );
}

function printSteps(steps: MeasuredStep[]): void {
  const header = ['step', 'offered/s', 'final/s', 'posted', 'final', 'missing', 'errors', '201 p50', '201 p99', 'final p50', 'p95', 'p99', 'max', 'GET p50', 'GET p99', 'GET !200', 'cpu%'];
  const rows = steps.map((step) => [
    step.label,
    step.offeredPerSecond.toFixed(0),
    step.finalsPerSecond.toFixed(0),
    String(step.posted),
    String(step.finals),
    String(step.missing),
    String(step.postErrors),
    milliseconds(step.postResponse.p50),
    milliseconds(step.postResponse.p99),
    milliseconds(step.postToFinal.p50),
    milliseconds(step.postToFinal.p95),
    milliseconds(step.postToFinal.p99),
    milliseconds(step.postToFinal.max),
    milliseconds(step.readYourWrites.p50),
    milliseconds(step.readYourWrites.p99),
    String(step.readYourWrites.non200),
    step.machineCpuPercent.toFixed(0),
  ]);
  printTable(header, rows);
  console.log('(latencies in ms; "final" = POST sent -> final state seen on orders.v1; GET = GET /v1/orders/:id right after the 201; cpu% = whole machine)\n');
  const names = steps[0]?.processes.map((process) => process.name) ?? [];
  printTable(
    ['process', ...steps.map((step) => `${step.label} cpu% / MB`), 'max MB'],
    names.map((name) => {
      const usages = steps.map((step) => step.processes.find((process) => process.name === name)!);
      return [name, ...usages.map((usage) => `${usage.meanCpuPercent.toFixed(0)} / ${megabytes(usage.maxResidentBytes)}`), megabytes(Math.max(...usages.map((usage) => usage.maxResidentBytes)))];
    }),
  );
  console.log('(cpu% = mean over the step, 100 = one core; MB = highest resident memory)\n');
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  const cleanups: Array<() => Promise<unknown>> = [];
  /** Undoes, newest first, what was started after the first `keep` steps. */
  const cleanUp = async (keep = 0) => {
    for (const cleanup of cleanups.splice(keep).reverse()) await cleanup().catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`));
  };
  const started = new Date();
  const kafka = await connectKafka({ clientId: 'bench', config, logger });
  cleanups.push(() => kafka.close());
  try {
    let system: TestSystem | undefined;
    let baseUrl = options.url;
    if (!baseUrl) {
      const services: ServiceName[] = options.allServices ? [...pipelineServices, 'order-enrichment', 'email-service'] : pipelineServices;
      console.log(`starting ${services.join(', ')}...`);
      system = await TestSystem.start({
        services,
        ordersInstances: options.ordersInstances,
        environment: { LOG_LEVEL: 'error', COMMIT_INTERVAL_MS: String(options.commitInterval), ...(options.guarantee ? { PROCESSING_GUARANTEE: options.guarantee } : {}) },
      });
      const startedSystem = system;
      cleanups.push(() => startedSystem.stop());
      await system.putStock({ JUMPERS: 100_000_000, UNDERPANTS: 100_000_000, STOCKINGS: 100_000_000 });
      baseUrl = system.ordersUrl();
    }
    const prefix = system?.prefix ?? config.TOPIC_PREFIX;
    const serdes = system?.serdes ?? topicSerdes(createSchemaRegistryClient(config), { prefix });
    const watcher = await FinalStateWatcher.start(kafka, serdes[Topics.orders]);
    cleanups.push(() => watcher.stop());

    const services: WatchedProcess[] = system
      ? system.processes.map((process) => ({ name: process.instance === 0 ? process.service : `${process.service}#${process.instance}`, pid: process.child.pid!, group: false }))
      : await runningServiceProcesses();
    const watched = [...services, ...(await serverProcesses()), { name: 'bench (load)', pid: process.pid, group: false }];
    const sampler = new ResourceSampler(watched);
    const common = { baseUrl, apiToken: config.API_TOKEN, watcher, drainMs: options.drain * 1_000, stopped: () => interrupted.aborted };

    let posted = 0;
    if (options.warmup > 0) {
      console.log(`warming up for ${options.warmup} s at 20 orders/s on ${baseUrl}`);
      posted += (await runStep({ ...common, label: 'warm-up', rate: 20, durationMs: options.warmup * 1_000 })).posted;
    }
    const plan = [
      ...rates.map((rate) => ({ label: `${rate}/s`, rate })),
      ...(options.maxClients > 0 ? [{ label: `max(${options.maxClients})`, clients: options.maxClients }] : []),
    ];
    const steps: MeasuredStep[] = [];
    for (const step of plan) {
      if (interrupted.aborted) break;
      console.log(`step ${step.label}: posting for ${options.duration} s...`);
      sampler.start();
      const result = await runStep({ ...common, ...step, durationMs: options.duration * 1_000 });
      const usage = await sampler.stop();
      posted += result.posted;
      steps.push({ ...result, ...usage });
      console.log(`  ${result.finalsPerSecond.toFixed(0)} final/s, POST -> final p50 ${milliseconds(result.postToFinal.p50)} ms p99 ${milliseconds(result.postToFinal.p99)} ms, ${result.missing} missing, ${result.postErrors} errors`);
    }

    let overload: OverloadResult | undefined;
    if (options.overload !== undefined && !interrupted.aborted) {
      console.log(`overload: ${options.overload} orders/s for ${options.overloadDuration} s, then 20/s for ${options.recovery} s...`);
      overload = await runOverload({ ...common, rate: options.overload, durationMs: options.overloadDuration * 1_000, recoveryRate: 20, recoveryMs: options.recovery * 1_000 });
      printOverload(overload);
    }

    // Only a copy of its own has topics that hold nothing but the benchmark's orders.
    const perOrder = system && posted > 0 ? await offsetsPerOrder(kafka, prefix, posted) : undefined;
    // The broker is measured alone: the copy of the pipeline is stopped first.
    await cleanUp(1);

    let broker: BrokerCeiling | undefined;
    if (options.brokerRecords > 0 && !interrupted.aborted) {
      console.log(`broker ceiling: Kafka's producer and consumer perf tests, ${options.brokerRecords} records of ${options.brokerRecordSize} bytes...`);
      const classpathFile = path.join(localPaths.servers, `kafka-${kafkaVersion}.classpath`);
      const classpath = (await readFile(classpathFile, 'utf8').catch(() => '')).trim();
      if (!classpath) throw new Error(`${classpathFile} is missing: run \`npm run infra -- fetch\` first`);
      // A secured cluster: the Java tools get the same TLS and SASL settings as Java client properties.
      const clientProperties = javaClientProperties(config);
      broker = await measureBrokerCeiling({
        java: (await findJava(17, 'Kafka\'s perf tools')).executable,
        classpath,
        brokers: config.KAFKA_BROKERS.join(','),
        ...(clientProperties ? { clientProperties } : {}),
        kafka,
        records: options.brokerRecords,
        recordSize: options.brokerRecordSize,
        partitions: 3,
        signal: interrupted,
      });
    }

    console.log(`\nmachine: ${os.cpus().length} cores, load average ${os.loadavg().map((load) => load.toFixed(1)).join(' ')} (other work on it skews every number)\n`);
    printSteps(steps);
    const best = Math.max(0, ...steps.map((step) => step.finalsPerSecond));
    const offsetsPerOrderTotal = perOrder ? Object.values(perOrder).reduce((sum, value) => sum + value, 0) : undefined;
    if (perOrder) console.log(`offsets per order (records and transaction markers): ${offsetsPerOrderTotal!.toFixed(1)} (${Object.entries(perOrder).map(([topic, count]) => `${topic} ${count.toFixed(2)}`).join(', ')})`);
    if (broker) {
      console.log(`broker ceiling: produce ${broker.producer.recordsPerSecond.toFixed(0)} records/s (${broker.producer.megabytesPerSecond} MB/s, acks=all, p99 ${broker.producer.p99Ms} ms), consume ${broker.consumer.recordsPerSecond.toFixed(0)} records/s`);
      console.log(`pipeline best: ${best.toFixed(0)} orders/s = ${((100 * best) / broker.producer.recordsPerSecond).toFixed(2)}% of the produce ceiling in records` +
        (offsetsPerOrderTotal ? `; at ${offsetsPerOrderTotal.toFixed(1)} offsets per order that is ${((100 * best * offsetsPerOrderTotal) / broker.producer.recordsPerSecond).toFixed(1)}% of it in offsets written` : ''));
    }
    const at100 = steps.find((step) => step.targetRate === 100);
    const serviceNames = new Set(services.map((service) => service.name));
    const maxServiceResident = Math.max(0, ...steps.flatMap((step) => step.processes.filter((process) => serviceNames.has(process.name)).map((process) => process.maxResidentBytes)));
    const targets = {
      sustainedOrdersPerSecond: { target: 2_000, measured: best, met: best >= 2_000 },
      postToFinalP99At100PerSecondMs: { target: 250, measured: at100?.postToFinal.p99 ?? null, met: at100 ? at100.postToFinal.p99 < 250 : null },
      readYourWritesP99At100PerSecondMs: { target: 50, measured: at100?.readYourWrites.p99 ?? null, met: at100 ? at100.readYourWrites.p99 < 50 : null },
      maxServiceResidentMegabytes: { target: 200, measured: maxServiceResident / 2 ** 20, met: maxServiceResident / 2 ** 20 <= 200 },
    };
    console.log('\ntargets:');
    for (const [name, { target, measured, met }] of Object.entries(targets)) console.log(`  ${name.padEnd(36)} target ${target}, measured ${measured === null ? '-' : measured.toFixed(1)}: ${met === null ? 'not measured' : met ? 'met' : 'NOT met'}`);

    await mkdir(options.out, { recursive: true });
    const stamp = started.toISOString().replace(/[:.]/g, '-');
    const jsonFile = path.join(options.out, `bench-${stamp}.json`);
    const svgFile = path.join(options.out, `bench-${stamp}.svg`);
    const machine = { cpus: os.cpus().length, memoryBytes: os.totalmem(), loadAverage: os.loadavg(), node: process.version, platform: `${os.type()} ${os.release()}` };
    await writeFile(jsonFile, `${JSON.stringify({ startedAt: started.toISOString(), arguments: process.argv.slice(2), options, machine, system: system ? 'own copy' : baseUrl, steps, overload: overload ?? null, offsetsPerOrder: perOrder ?? null, broker: broker ?? null, targets }, null, 2)}\n`);
    const point = (step: MeasuredStep, value: number) => ({ x: step.finalsPerSecond, y: value, label: step.label });
    await writeFile(
      svgFile,
      renderPlot({
        title: `Order pipeline latency against throughput (${started.toISOString().slice(0, 16)})`,
        xLabel: 'final states per second',
        yLabel: 'latency (ms, log scale)',
        series: [
          { name: 'POST→final p50', color: '#1f77b4', points: steps.map((step) => point(step, step.postToFinal.p50)) },
          { name: 'POST→final p99', color: '#d62728', points: steps.map((step) => point(step, step.postToFinal.p99)) },
          { name: 'GET after 201 p99', color: '#2ca02c', points: steps.map((step) => point(step, step.readYourWrites.p99)) },
        ],
      }),
    );
    console.log(`\nresult: ${path.relative(process.cwd(), jsonFile)}\nplot:   ${path.relative(process.cwd(), svgFile)}`);
  } finally {
    await cleanUp();
  }
}

await main();
// undici keeps sockets alive for a while: nothing else is left to wait for.
process.exit(interrupted.aborted ? 130 : 0);
