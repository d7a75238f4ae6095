import { spawn } from 'node:child_process';
import { Command, Argument } from 'commander';
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
      'ELASTICSEARCH_URL to use an external server instead of a local one.',
  );

program
  .command('up')
  .description('fetch (first time), start and wait until every server is healthy; does nothing for servers already up')
  .addArgument(serversArgument())
  .action(async (servers: ServerName[]) => {
    const started = Date.now();
    await up(servers);
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
        server.name,
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
  .option('-n, --lines <count>', 'number of lines', '50')
  .option('-f, --follow', 'keep printing new lines')
  .action((server: ServerName, options: { lines: string; follow?: boolean }) => {
    const args = ['-n', options.lines, ...(options.follow ? ['-F'] : []), localPaths.log(server)];
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
