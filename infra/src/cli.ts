import { spawn } from 'node:child_process';
import { Command, Argument, InvalidArgumentError, Option } from 'commander';
import { positiveInteger } from './cli-options.ts';
import { InfraError } from './errors.ts';
import { down, fetchServers, reset, status, up, type ServerName } from './launcher.ts';
import { localPaths } from './paths.ts';

const serverNames: ServerName[] = ['kafka', 'registry', 'elasticsearch'];
const serversArgument = () => new Argument('[servers...]', 'kafka, registry, elasticsearch (default: all)').choices(serverNames);

const program = new Command()
  .name('npm run infra --')
  .description(
    'Runs the real Kafka broker, schema registry and Elasticsearch on this machine, fetched through Maven.\n' +
      `State, data and logs live in ${localPaths.home}. Set KAFKA_BROKERS, SCHEMA_REGISTRY_URL or\n` +
      'ELASTICSEARCH_URL to use an external server instead of a local one.\n' +
      'Kafka runs as one broker, or with `up --brokers 3` (or KAFKA_BROKER_COUNT=3) as a three-node KRaft\n' +
      'cluster on 127.0.0.1:9092,9094,9096 (controllers on 9093,9095,9097) with replication factor 3 and\n' +
      'min.insync.replicas 2. The data folder remembers the count: status and down need no flag, and\n' +
      'switching between one and three brokers needs a `reset` (which deletes all local data).\n' +
      'With `up --secure` Kafka takes clients over SASL_SSL only (a local CA made with keytool, SCRAM-SHA-512,\n' +
      'SCRAM-SHA-256 and PLAIN users); the client settings are written to .local/secure/client.env.',
  );

function brokerCount(value: string): number {
  if (value !== '1' && value !== '3') throw new InvalidArgumentError('the local cluster has 1 or 3 brokers.');
  return Number(value);
}

program
  .command('up')
  .description('fetch (first time), start and wait until every server is healthy; does nothing for servers already up')
  .addArgument(serversArgument())
  .addOption(new Option('--brokers <count>', 'Kafka brokers: 1, or 3 for a local cluster (default: KAFKA_BROKER_COUNT, else as formatted, else 1)').argParser(brokerCount))
  .option('--secure', 'Kafka takes clients over SASL_SSL only (its own CA, SCRAM and PLAIN users); their settings go to .local/secure/client.env (default: as formatted)')
  .action(async (servers: ServerName[], options: { brokers?: number; secure?: boolean }) => {
    const started = Date.now();
    await up(servers, console.log, { ...(options.brokers === undefined ? {} : { brokers: options.brokers }), ...(options.secure ? { secure: true } : {}) });
    console.log(`infrastructure ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

program
  .command('down')
  .description('stop the local servers, keeping their data')
  .addArgument(serversArgument())
  .action(async (servers: ServerName[]) => down(servers));

program
  .command('status')
  .description('show each server: running, healthy, endpoint, memory')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    const report = await status();
    if (options.json) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      const rows = report.map((server) => [
        server.id,
        server.state,
        server.mode,
        server.endpoint,
        server.pid === undefined ? '-' : String(server.pid),
        server.residentBytes === undefined ? '-' : `${Math.round(server.residentBytes / 2 ** 20)} MiB`,
      ]);
      const header = ['server', 'state', 'mode', 'endpoint', 'pid', 'rss'];
      const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
      for (const row of [header, ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  '));
    }
    if (report.some((server) => server.state !== 'healthy')) process.exitCode = 1;
  });

program
  .command('logs')
  .description('print the last lines of a server log')
  .addArgument(new Argument('<server>').choices(serverNames))
  .addOption(new Option('-n, --lines <count>', 'number of lines').default(50).argParser(positiveInteger))
  .option('-f, --follow', 'keep printing new lines')
  .action((server: ServerName, options: { lines: number; follow?: boolean }) => {
    const args = ['-n', String(options.lines), ...(options.follow ? ['-F'] : []), localPaths.log(server)];
    spawn('tail', args, { stdio: 'inherit' }).on('exit', (code) => (process.exitCode = code ?? 0));
  });

program
  .command('reset')
  .description('stop everything and delete all local data and logs (downloads are kept)')
  .action(async () => reset());

program
  .command('fetch')
  .description('only download and unpack the servers (through Maven, cached in ~/.m2)')
  .addArgument(serversArgument())
  .action(async (servers: ServerName[]) => fetchServers(servers));

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof InfraError) {
    if (error.details) console.error(`\n${error.details}\n`);
    console.error(`error: ${error.message}`);
    if (error.fix) console.error(`fix: ${error.fix}`);
    process.exit(1);
  }
  throw error;
}
