/** `npm run status`: the infrastructure and every service of a running system. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { status } from '@ecosystem/infra';
import { allServices, systemPidFile } from './services.ts';

new Command().name('npm run status').description('Shows the infrastructure servers and whether each service is ready.').parse();

const servers = await status();
for (const server of servers) console.log(`${server.name.padEnd(22)} ${server.state.padEnd(9)} ${server.endpoint}${server.residentBytes ? `  ${Math.round(server.residentBytes / 2 ** 20)} MiB` : ''}`);
const recorded = await readFile(systemPidFile, 'utf8').then((text) => JSON.parse(text) as { pid: number }).catch(() => undefined);
console.log(recorded ? `\nnpm start is running (pid ${recorded.pid})` : '\nnpm start is not running');
let ready = 0;
for (const service of allServices) {
  const answer = await fetch(`http://127.0.0.1:${service.port}/ready`, { signal: AbortSignal.timeout(1_000) })
    .then(async (response) => ({ ok: response.ok, body: (await response.json()) as { state?: string } }))
    .catch(() => undefined);
  if (answer?.ok) ready += 1;
  console.log(`${service.name.padEnd(22)} ${answer ? (answer.ok ? 'ready' : `not ready (${answer.body.state ?? '?'})`) : 'down'}  :${service.port}`);
}
process.exitCode = servers.every((server) => server.state === 'healthy') && ready === allServices.length ? 0 : 1;
