/**
 * What each system asks of the broker per order: runs ../shared/peers/compare.sh (this project's
 * four processors and the Kafka Streams peer, side by side) with the broker's request log on,
 * then counts, per run, the requests by API (the broker's own on the run's behalf included:
 * transaction markers, the transaction verification of Kafka 4), the markers and the bytes
 * written per topic, each per order.
 *
 *   npm run bench:broker -- -n 5000 -r 100 -d 30
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { ConfigResourceTypes, IncrementalAlterConfigOperationTypes } from '@platformatic/kafka';
import { localPaths, positiveInteger, repositoryRoot } from '@ecosystem/infra';
import { connectKafka, createLogger, exitOnStartupError, loadInfrastructureConfig } from '@ecosystem/platform';
import { tallyLine, total, type RequestTally } from './bench/request-log.ts';

const options = new Command()
  .name('npm run bench:broker --')
  .description('Runs compare.sh with the broker request log on and prints the requests, transaction markers and bytes each system costs the broker per order.')
  .option('--compare <script>', 'the comparison script', path.resolve(repositoryRoot, '..', 'shared', 'peers', 'compare.sh'))
  .option('-n <orders>', 'orders of the throughput phase', positiveInteger, 5_000)
  .option('-r <rate>', 'orders per second of the latency phase', positiveInteger, 100)
  .option('-d <seconds>', 'duration of the latency phase', positiveInteger, 30)
  .option('-s <systems>', 'systems in run order', 'project,java')
  .option('--out <folder>', 'where compare.sh and this script write their results', path.join(localPaths.home, 'broker-cost', new Date().toISOString().replace(/[:.]/g, '-')))
  .parse()
  .opts<{ compare: string; n: number; r: number; d: number; s: string; out: string }>();

if (!existsSync(options.compare)) {
  console.error(`${options.compare} does not exist: pass --compare <path of compare.sh>`);
  process.exit(1);
}

const config = loadInfrastructureConfig();
const kafka = await connectKafka({ clientId: 'broker-cost', config, logger: createLogger('broker-cost', 'silent') }).catch(exitOnStartupError('broker-cost'));
const admin = kafka.admin();

/** Sets the request logger's level on every broker (a dynamic logger level: no restart). */
async function requestLog(level: 'DEBUG' | 'WARN'): Promise<void> {
  const metadata = await admin.metadata({ topics: [] });
  await admin.incrementalAlterConfigs({
    resources: [...metadata.brokers.keys()].map((id) => ({
      resourceType: ConfigResourceTypes.BROKER_LOGGER,
      resourceName: String(id),
      configs: [{ name: 'kafka.request.logger', value: level, configOperation: IncrementalAlterConfigOperationTypes.SET }],
    })),
  });
}

function runCompare(): Promise<number | null> {
  const args = ['-n', String(options.n), '-r', String(options.r), '-d', String(options.d), '-s', options.s, '--out', options.out];
  console.log(`$ ${options.compare} ${args.join(' ')}`);
  const child = spawn('bash', [options.compare, ...args], { cwd: repositoryRoot, stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', resolve));
}

await mkdir(options.out, { recursive: true });
const logFile = localPaths.log('kafka');
const startedAt = statSync(logFile).size;
await requestLog('DEBUG');
let exitCode: number | null;
try {
  exitCode = await runCompare();
} finally {
  await requestLog('WARN');
  await kafka.close();
}

// Every name of a run carries its prefix: <run id>-<index>-<system>.
const runPattern = /\bcmp\d+-(\d+-(?:project|java))\./;
const tallies = new Map<string, RequestTally>();
const lines = createInterface({ input: createReadStream(logFile, { start: startedAt }), crlfDelay: Infinity });
for await (const line of lines) {
  tallyLine(line, (text) => runPattern.exec(text)?.[1], tallies, (topic) => topic.replace(/^cmp\d+-\d+-(project|java)\./, ''));
}

/** Orders a run brought to a final state: its throughput phase's and its latency phase's. */
function ordersOf(run: string): number {
  let orders = 0;
  for (const phase of ['throughput.json', 'latency.json']) {
    const file = path.join(options.out, run, phase);
    if (existsSync(file)) orders += Number((JSON.parse(readFileSync(file, 'utf8')) as { finals?: number }).finals ?? 0);
  }
  return orders;
}

const runs = [...tallies.keys()].sort();
const perOrder = (value: number, run: string) => value / Math.max(1, ordersOf(run));
const format = (value: number) => (value >= 10 ? value.toFixed(1) : value.toFixed(3));
const apis = [...new Set(runs.flatMap((run) => [...tallies.get(run)!.requests.keys()]))].sort((left, right) => total(new Map(runs.map((run) => [run, tallies.get(run)!.requests.get(right) ?? 0]))) - total(new Map(runs.map((run) => [run, tallies.get(run)!.requests.get(left) ?? 0]))));
const topics = [...new Set(runs.flatMap((run) => [...tallies.get(run)!.markers.keys(), ...tallies.get(run)!.bytes.keys()]))].sort();

const report: string[] = [];
report.push(`orders per run: ${runs.map((run) => `${run} ${ordersOf(run)}`).join(', ')}`);
report.push('', `| requests per order | ${runs.join(' | ')} |`, `| --- |${runs.map(() => ' --- |').join('')}`);
for (const api of apis) report.push(`| ${api} | ${runs.map((run) => format(perOrder(tallies.get(run)!.requests.get(api) ?? 0, run))).join(' | ')} |`);
report.push(`| all | ${runs.map((run) => format(perOrder(total(tallies.get(run)!.requests), run))).join(' | ')} |`);
report.push('', `| per order: markers / produce batches / bytes | ${runs.join(' | ')} |`, `| --- |${runs.map(() => ' --- |').join('')}`);
for (const topic of topics) {
  report.push(`| ${topic} | ${runs.map((run) => { const tally = tallies.get(run)!; return `${format(perOrder(tally.markers.get(topic) ?? 0, run))} / ${format(perOrder(tally.batches.get(topic) ?? 0, run))} / ${Math.round(perOrder(tally.bytes.get(topic) ?? 0, run))}`; }).join(' | ')} |`);
}
report.push(`| all topics | ${runs.map((run) => { const tally = tallies.get(run)!; return `${format(perOrder(total(tally.markers), run))} / ${format(perOrder(total(tally.batches), run))} / ${Math.round(perOrder(total(tally.bytes), run))}`; }).join(' | ')} |`);
console.log(`\n${report.join('\n')}`);
await writeFile(path.join(options.out, 'broker-cost.md'), `${report.join('\n')}\n`);
console.log(`\nresults: ${options.out}`);
process.exit(exitCode ?? 1);
