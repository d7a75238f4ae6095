import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '@ecosystem/infra';
import { isRunning, readSystemRecord, type RecordedProcess, type SystemRecord } from '../system-record.ts';
import { eventually } from '../../test/support/eventually.ts';

/**
 * The supervisor of `npm start` with stand-in services (fixtures/), on free ports and with its
 * record in a folder of its own (INFRA_HOME): no service outlives it, and `npm run status` and
 * `npm run stop` read the same record and agree, also after it was killed. Linux only (/proc).
 */
const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const started: ChildProcess[] = [];
const folders: string[] = [];
const seen: RecordedProcess[] = [];

afterAll(async () => {
  for (const process of seen) if (isRunning(process)) globalThis.process.kill(process.pid, 'SIGKILL');
  for (const child of started) child.kill('SIGKILL');
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** `npm run status` / `npm run stop` of this repository, against the test's INFRA_HOME. */
function script(name: 'status' | 'stop', home: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', path.join(repository, 'scripts', `${name}.ts`)], { cwd: repository, env: { ...process.env, INFRA_HOME: home }, timeout: 90_000 }, (_error, stdout, stderr) => resolve(stdout + stderr));
  });
}

/** Starts the fixture supervisor with dummies named like services of the system; resolves once every one runs. */
async function startSupervisor(dummies: Array<{ name: string; hang?: boolean }>): Promise<{ home: string; supervisor: ChildProcess; record: SystemRecord }> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'supervisor-test-'));
  folders.push(home);
  const spec = [];
  for (const dummy of dummies) spec.push(`${dummy.name}:${await freeLoopbackPort()}${dummy.hang ? ':hang' : ''}`);
  const supervisor = spawn(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', path.join(repository, 'scripts', 'test', 'fixtures', 'supervisor.ts')], {
    cwd: repository,
    env: { ...process.env, INFRA_HOME: home, DUMMIES: spec.join(',') },
    stdio: 'ignore',
  });
  started.push(supervisor);
  const file = path.join(home, 'run', 'system.json');
  const record = await eventually(() => {
    const current = readSystemRecord(file);
    return current && current.processes.length === dummies.length && current.processes.every(isRunning) ? current : undefined;
  }, 'the supervisor to record its services', 30_000);
  seen.push(...record.processes);
  // Ready: each answers on its port (the hanging one stops answering once it hangs).
  for (const process of record.processes.filter((candidate) => !dummies.find((dummy) => dummy.name === candidate.name)?.hang)) {
    await eventually(() => fetch(`http://127.0.0.1:${process.port}/ready`).then((response) => (response.ok ? true : undefined), () => undefined), `${process.name} to answer`, 30_000);
  }
  return { home, supervisor, record };
}

describe('the supervisor of npm start', () => {
  it('leaves no service running within seconds of being killed (kill -9); status and stop then agree, and stop clears what is left', async () => {
    const { home, supervisor, record } = await startSupervisor([{ name: 'orders-service' }, { name: 'inventory-service' }, { name: 'fraud-service', hang: true }]);
    const status = await script('status', home);
    expect(status).toContain(`npm start is running (pid ${supervisor.pid}`);
    const orders = record.processes.find((process) => process.name === 'orders-service')!;
    expect(status).toMatch(new RegExp(`orders-service +ready +pid ${orders.pid} +:${orders.port}`));

    const killed = Date.now();
    supervisor.kill('SIGKILL');
    const healthy = record.processes.filter((process) => process.name !== 'fraud-service');
    await eventually(() => (healthy.some(isRunning) ? undefined : true), 'the services to stop without their supervisor', 10_000);
    expect(Date.now() - killed).toBeLessThan(10_000);
    // A process whose event loop is stuck cannot notice: it is what `npm run stop` is for.
    const stuck = record.processes.find((process) => process.name === 'fraud-service')!;
    expect(isRunning(stuck)).toBe(true);

    const afterCrash = await script('status', home);
    expect(afterCrash).toContain(`npm start (pid ${supervisor.pid}, started ${record.startedAt}) is not running: it ended without stopping. It left fraud-service running; \`npm run stop\` stops them.`);
    expect(afterCrash).toMatch(/orders-service +down +:/);
    expect(afterCrash).toMatch(new RegExp(`fraud-service +starting +pid ${stuck.pid}`));

    const stop = await script('stop', home);
    expect(stop).toContain(`npm start (pid ${supervisor.pid}, started ${record.startedAt}) is gone; stopping what it left.`);
    expect(stop).toContain(`stopping fraud-service (pid ${stuck.pid})...`);
    expect(stop).toContain('stopped.');
    expect(isRunning(stuck)).toBe(false);

    expect(await script('status', home)).toContain('npm start is not running');
    expect(await script('stop', home)).toContain('The system is not running');
  }, 120_000);

  it('restarts a crashed service and records its new pid; stop asks a running supervisor to stop everything', async () => {
    const { home, supervisor, record } = await startSupervisor([{ name: 'orders-service' }, { name: 'order-details-service' }]);
    const details = record.processes.find((process) => process.name === 'order-details-service')!;
    process.kill(details.pid, 'SIGKILL');
    const restarted = await eventually(() => {
      const current = readSystemRecord(path.join(home, 'run', 'system.json'))?.processes.find((process) => process.name === 'order-details-service');
      return current && current.pid !== details.pid && isRunning(current) ? current : undefined;
    }, 'the service to be restarted', 20_000);
    seen.push(restarted);
    await eventually(() => fetch(`http://127.0.0.1:${restarted.port}/ready`).then((response) => (response.ok ? true : undefined), () => undefined), 'the restarted service to answer', 30_000);
    expect(await script('status', home)).toMatch(new RegExp(`order-details-service +ready +pid ${restarted.pid}`));

    const stop = await script('stop', home);
    expect(stop).toContain(`stopping npm start (pid ${supervisor.pid})...`);
    expect(stop).toContain('stopped.');
    expect(supervisor.exitCode ?? supervisor.signalCode).not.toBeNull();
    for (const process of [...record.processes, restarted]) expect(isRunning(process), process.name).toBe(false);
    expect(await script('status', home)).toContain('npm start is not running');
  }, 120_000);
});
