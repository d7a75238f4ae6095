/**
 * `npm run stop`: stops what the last `npm start` started, from another terminal. A running
 * `npm start` is asked to stop (SIGTERM, as Ctrl-C in its terminal): it stops its services and
 * the servers it started. When it is gone already (killed, crashed), whatever it left is
 * stopped here: its processes, then the servers it started. Both go by the record `npm start`
 * keeps (scripts/system-record.ts), the same one `npm run status` shows.
 */
import { Command } from 'commander';
import { down } from '@ecosystem/infra';
import { inspectSystem, isRunning, removeSystemRecord, stopProcesses } from './system-record.ts';

new Command().name('npm run stop').description('Stops the system that `npm start` runs, as Ctrl-C in its terminal would, or what is left of it when `npm start` is gone.').parse();

const state = inspectSystem();
if (!state) {
  console.log('The system is not running (no record of an `npm start`). The infrastructure alone stops with `npm run infra -- down`.');
  process.exit(0);
}
const { record } = state;
if (state.supervisorRunning) {
  process.kill(record.supervisor.pid, 'SIGTERM');
  console.log(`stopping npm start (pid ${record.supervisor.pid})...`);
  const deadline = Date.now() + 120_000;
  while (isRunning(record.supervisor) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
  if (isRunning(record.supervisor)) {
    console.error(`error: npm start (pid ${record.supervisor.pid}) is still running after 2 minutes; \`kill -9 ${record.supervisor.pid}\` ends it, and \`npm run stop\` then stops what is left.`);
    process.exit(1);
  }
} else {
  console.log(`npm start (pid ${record.supervisor.pid}, started ${record.startedAt}) is gone; stopping what it left.`);
}
// Whatever outlived it (nothing, normally: it stops its processes, and they stop without it).
const leftovers = record.processes.filter(isRunning);
if (leftovers.length > 0) {
  console.log(`stopping ${leftovers.map((leftover) => `${leftover.name} (pid ${leftover.pid})`).join(', ')}...`);
  await stopProcesses(leftovers);
}
if (!state.supervisorRunning && record.startedServers.length > 0 && !record.keepInfra) {
  console.log(`stopping the servers it started: ${record.startedServers.join(', ')}...`);
  await down(record.startedServers, (line) => console.log(`  ${line}`));
}
removeSystemRecord();
console.log('stopped.');
