import path from 'node:path';
import { Command, Option } from 'commander';
import { registerTopicSchemas, Topics, topicSerdes } from '@ecosystem/avro';
import { down, InfraError, localPaths, positiveNumber, up } from '@ecosystem/infra';
import { connectKafka, createLogger, createSchemaRegistryClient, ensureTopics, loadInfrastructureConfig, systemTopics } from '@ecosystem/platform';
import { allServices, pipelineServices, Supervisor } from './services.ts';
import { describeProcess, inspectSystem, recordLaunch, removeSystemRecord, stopProcesses, writeSystemRecord, type SystemRecord } from './system-record.ts';
import { SystemSummary } from './summary.ts';

const options = new Command()
  .name('npm start --')
  .description(
    'Runs the whole system: starts Kafka, the schema registry and Elasticsearch (fetched through Maven the first time), creates the topics, registers the schemas, runs every service and the populator, and shows a live summary. Ctrl-C (or `npm run stop`) stops everything it started.',
  )
  .option('--infra-only', 'only start the infrastructure, topics and schemas, then exit')
  .option('--no-populator', 'do not generate orders')
  .addOption(new Option('--rate <perSecond>', 'orders per second the populator posts').default(1).argParser(positiveNumber))
  .addOption(new Option('--duration <seconds>', 'stop the populator after this long').argParser(positiveNumber))
  .option('--logs', 'stream the services\' logs instead of the summary screen')
  .option('--keep-infra', 'leave Kafka, the registry and Elasticsearch running on exit')
  .parse()
  .opts<{ infraOnly?: boolean; populator: boolean; rate: number; duration?: number; logs?: boolean; keepInfra?: boolean }>();

const config = loadInfrastructureConfig();
/** What this npm start runs, for `npm run stop` and `npm run status` (not written with --infra-only). */
let record: SystemRecord | undefined;
// Output to a pipe that closed (`npm start | tee log` after Ctrl-C) must not end the supervisor
// before it has stopped what it started.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
// Ctrl-C, `npm run stop` (SIGTERM) and a closed terminal (SIGHUP) stop the system, also while it is starting.
let stopNow: (() => Promise<void>) | undefined;
let stopRequested = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    stopRequested = true;
    void stopNow?.();
  });
}
const dashboardPort = allServices.find((service) => service.name === 'dashboard')?.port;
const logger = createLogger('start', 'warn');

async function main(): Promise<void> {
  const started = Date.now();
  const previous = inspectSystem();
  if (previous?.supervisorRunning) {
    console.error(`error: npm start is already running (pid ${previous.record.supervisor.pid}). Stop it with \`npm run stop\`, or see it with \`npm run status\`.`);
    process.exit(1);
  }
  if (previous && previous.running.length > 0) {
    console.log(`Stopping what the last npm start left running: ${previous.running.map((leftover) => `${leftover.name} (pid ${leftover.pid})`).join(', ')}...`);
    await stopProcesses(previous.running);
  }
  // Servers a crashed npm start launched are this one's to stop now.
  const inherited = previous?.record.startedServers ?? [];
  if (!options.infraOnly) {
    record = { startedAt: new Date(started).toISOString(), supervisor: describeProcess('npm start', process.pid), processes: [], startedServers: inherited, keepInfra: Boolean(options.keepInfra) };
    writeSystemRecord(record);
  }
  console.log('Starting Kafka, the schema registry and Elasticsearch...');
  const launched = await up(undefined, (line) => console.log(`  ${line}`));
  const startedServers = [...new Set([...inherited, ...launched])];
  if (record) {
    record.startedServers = startedServers;
    writeSystemRecord(record);
  }
  if (stopRequested) {
    if (startedServers.length > 0 && !options.keepInfra) await down(startedServers, (line) => console.log(`  ${line}`));
    if (record) removeSystemRecord();
    console.log('stopped.');
    process.exit(0);
  }

  const kafka = await connectKafka({ clientId: 'start', config, logger });
  const created = await ensureTopics(kafka, systemTopics, { logger, prefix: config.TOPIC_PREFIX });
  console.log(`Topics: ${systemTopics.length} declared, ${created.length} created now.`);
  const registry = createSchemaRegistryClient(config);
  const subjects = await registerTopicSchemas(registry, { prefix: config.TOPIC_PREFIX });
  console.log(`Schemas: ${Object.keys(subjects).length} subjects registered.`);
  console.log(`Infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  if (options.infraOnly) {
    await kafka.close();
    console.log('Stop it with `npm run infra -- down`.');
    return;
  }
  const running = record!;

  const interactive = Boolean(process.stdout.isTTY) && !options.logs;
  const supervisor = new Supervisor({ echo: !interactive });
  supervisor.onLaunch = (name, pid, port) => recordLaunch(running, name, pid, port);
  allServices.forEach((service, index) => supervisor.start(service, index));
  console.log(`\nServices starting (logs in ${path.relative(process.cwd(), localPaths.logs)}/). Try:`);
  console.log(`  curl -s -XPOST localhost:8000/v1/orders -H 'content-type: application/json' -d '{"customerId":1,"product":"JUMPERS","quantity":1,"price":10}'`);
  console.log(`  curl -s localhost:8000/v1/orders/<id>/validated`);
  console.log(`Live dashboard: http://localhost:${dashboardPort}`);

  const summary = new SystemSummary(kafka, topicSerdes(registry, { prefix: config.TOPIC_PREFIX }), {
    services: allServices,
    elasticsearch: config.ELASTICSEARCH_URL,
    ordersIndex: topicSerdes(registry, { prefix: config.TOPIC_PREFIX })[Topics.orders].topic.toLowerCase(),
  });
  supervisor.onWarning = (line) => summary.warnings.push(line);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping the services...');
    await summary.stop();
    await kafka.close();
    await supervisor.stopAll();
    if (startedServers.length > 0 && !options.keepInfra) {
      console.log('stopping the infrastructure this run started...');
      await down(startedServers, (line) => console.log(`  ${line}`));
    }
    removeSystemRecord();
    console.log('stopped.');
    process.exit(0);
  };
  stopNow = stop;
  if (stopRequested) return stop();

  if (options.populator) {
    // The populator starts from the fraud service's sessions (a restart within an hour keeps honest customers under the threshold).
    const fraudUrl = `http://127.0.0.1:${pipelineServices.find((service) => service.name === 'fraud-service')!.port}`;
    await waitUntilReady('http://127.0.0.1:8000/ready', 120_000);
    await waitUntilReady(`${fraudUrl}/ready`, 60_000);
    if (stopping) return;
    supervisor.runOnce('populator', ['--rate', String(options.rate), '--fraud-url', fraudUrl, ...(options.duration ? ['--duration', String(options.duration)] : [])]);
  }
  await summary.start();
}

async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fetch(url).then((response) => response.ok).catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  console.error(`${url} did not become ready within ${timeoutMs / 1000} s; see .local/logs/`);
}

main().catch(async (error: unknown) => {
  if (error instanceof InfraError) {
    if (error.details) console.error(`\n${error.details}\n`);
    console.error(`error: ${error.message}`);
    if (error.fix) console.error(`fix: ${error.fix}`);
  } else {
    console.error(error instanceof Error ? error.message : error);
  }
  // What it started, the failed start stops: up() stopped the servers of a failed infrastructure start itself.
  if (record) {
    const leftovers = inspectSystem(record);
    if (leftovers && leftovers.running.length > 0) await stopProcesses(leftovers.running);
    if (record.startedServers.length > 0 && !options.keepInfra) await down(record.startedServers, (line) => console.log(`  ${line}`)).catch(() => undefined);
    removeSystemRecord();
  }
  process.exit(1);
});
