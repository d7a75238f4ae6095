/**
 * `npm run status`: the infrastructure and every service of the system `npm start` runs, from
 * the record `npm start` keeps (the same one `npm run stop` acts on): whether `npm start` runs,
 * and for each service its process and whether it is ready.
 */
import { Command } from 'commander';
import { status } from '@ecosystem/infra';
import { allServices } from './services.ts';
import { inspectSystem, isRunning } from './system-record.ts';

new Command().name('npm run status').description('Shows the infrastructure servers, whether `npm start` runs, and whether each service is ready.').parse();

const servers = await status();
for (const server of servers) console.log(`${server.name.padEnd(22)} ${server.state.padEnd(9)} ${server.endpoint}${server.residentBytes ? `  ${Math.round(server.residentBytes / 2 ** 20)} MiB` : ''}`);

const state = inspectSystem();
if (!state) console.log('\nnpm start is not running');
else if (state.supervisorRunning) console.log(`\nnpm start is running (pid ${state.record.supervisor.pid}, since ${state.record.startedAt})`);
else {
  const left = [...state.running.map((process) => process.name), ...(state.record.keepInfra ? [] : state.record.startedServers)];
  console.log(`\nnpm start (pid ${state.record.supervisor.pid}, started ${state.record.startedAt}) is not running: it ended without stopping.` +
    (left.length > 0 ? ` It left ${left.join(', ')} running; \`npm run stop\` stops them.` : ' Nothing of it is left running; `npm run stop` clears its record.'));
}

let ready = 0;
for (const service of allServices) {
  const recorded = state?.record.processes.find((process) => process.name === service.name);
  const running = recorded !== undefined && isRunning(recorded);
  const port = recorded?.port ?? service.port;
  const answer = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1_000) })
    .then(async (response) => ({ ok: response.ok, body: (await response.json().catch(() => ({}))) as { state?: string } }))
    .catch(() => undefined);
  let line: string;
  if (running) {
    if (answer?.ok) ready += 1;
    line = `${answer ? (answer.ok ? 'ready' : `not ready (${answer.body.state ?? '?'})`) : 'starting'}  pid ${recorded.pid}`;
  } else {
    // Something answers on the port that npm start did not start (a service run by hand, or another program).
    line = answer ? `down (port taken by a process npm start did not start)` : 'down';
  }
  console.log(`${service.name.padEnd(22)} ${line}  :${port}`);
}
process.exitCode = servers.every((server) => server.state === 'healthy') && state?.supervisorRunning && ready === allServices.length ? 0 : 1;
