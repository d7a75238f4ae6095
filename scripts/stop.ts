/** `npm run stop`: stops a running `npm start` from another terminal (services, populator, and the infrastructure it started). */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { systemPidFile } from './services.ts';

new Command().name('npm run stop').description('Stops the system that `npm start` runs, as Ctrl-C in its terminal would.').parse();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const recorded = await readFile(systemPidFile, 'utf8').then((text) => JSON.parse(text) as { pid: number }).catch(() => undefined);
if (!recorded || !alive(recorded.pid)) {
  console.log('The system is not running (no live `npm start`). The infrastructure alone stops with `npm run infra -- down`.');
  process.exit(0);
}
process.kill(recorded.pid, 'SIGTERM');
console.log(`stopping npm start (pid ${recorded.pid})...`);
const deadline = Date.now() + 120_000;
while (alive(recorded.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
if (alive(recorded.pid)) {
  console.error(`pid ${recorded.pid} is still running after 2 minutes`);
  process.exit(1);
}
console.log('stopped.');
