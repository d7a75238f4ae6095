import { mkdir, mkdtemp, readlink, writeFile } from 'node:fs/promises';
import { setTimeout } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { infraPaths } from '../src/paths.ts';
import { launch, processStartTicks, runningPid, stop } from '../src/processes.ts';

const launched: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(launched.splice(0).map((stopIt) => stopIt()));
});

async function scratchPaths() {
  const paths = infraPaths(await mkdtemp(path.join(os.tmpdir(), 'processes-test-')));
  await mkdir(paths.data('server'), { recursive: true });
  return paths;
}

describe('the pid file of a launched server', () => {
  it('names the process while it works outside the local folder (a JVM visits its perf-data folder as it starts)', async () => {
    const paths = await scratchPaths();
    const pid = await launch('server', { command: 'sh', args: ['-c', 'cd / && exec sleep 30'], cwd: paths.data('server') }, paths);
    launched.push(() => stop('server', pid, 0, paths));
    // Once it has left its folder, the pid must still count as the server's.
    while ((await readlink(`/proc/${pid}/cwd`)) !== '/') await setTimeout(20);
    expect(await runningPid('server', paths)).toBe(pid);
  });

  it('does not name another process that got the same pid later', async () => {
    const paths = await scratchPaths();
    await mkdir(paths.run, { recursive: true });
    // This test's own process stands for the one that reused the pid: it started at another time.
    await writeFile(paths.pidFile('server'), `${process.pid} ${processStartTicks(process.pid)! - 1}\n`);
    expect(await runningPid('server', paths)).toBeUndefined();
    await writeFile(paths.pidFile('server'), `${process.pid} ${processStartTicks(process.pid)!}\n`);
    expect(await runningPid('server', paths)).toBe(process.pid);
  });
});
