import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every numeric option of the project's command lines refuses nonsense before anything
 * connects anywhere: a one-line error naming the option and a non-zero exit, no stack trace.
 */
const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', path.join(repository, script), ...args], { cwd: repository, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const cases: Array<{ script: string; args: string[]; option: string }> = [
  { script: 'populator/src/main.ts', args: ['--rate', 'abc', '--count', '20'], option: '--rate' },
  { script: 'populator/src/main.ts', args: ['--rate', '0'], option: '--rate' },
  { script: 'populator/src/main.ts', args: ['--rate', '-5'], option: '--rate' },
  { script: 'populator/src/main.ts', args: ['--count', 'many'], option: '--count' },
  { script: 'populator/src/main.ts', args: ['--duration', '1O'], option: '--duration' },
  { script: 'populator/src/main.ts', args: ['--fast', '0'], option: '--fast' },
  { script: 'populator/src/main.ts', args: ['--customers', 'x'], option: '--customers' },
  { script: 'populator/src/main.ts', args: ['--stock', '-1'], option: '--stock' },
  { script: 'scripts/read-topics.ts', args: ['--topics', 'orders.v1', '--last', 'abc'], option: '--last' },
  { script: 'scripts/read-topics.ts', args: ['--last', '0'], option: '--last' },
  { script: 'scripts/bench.ts', args: ['--rates', 'abc'], option: '--rates' },
  { script: 'scripts/bench.ts', args: ['--rates', '25,-50'], option: '--rates' },
  { script: 'scripts/bench.ts', args: ['--duration', 'long'], option: '--duration' },
  { script: 'scripts/bench.ts', args: ['--max-clients', '1.5'], option: '--max-clients' },
  { script: 'scripts/bench.ts', args: ['--broker-records', 'lots'], option: '--broker-records' },
  { script: 'scripts/chaos.ts', args: ['--minutes', 'abc'], option: '--minutes' },
  { script: 'scripts/chaos.ts', args: ['--rate', '0'], option: '--rate' },
  { script: 'scripts/chaos.ts', args: ['--brokers', '2'], option: '--brokers' },
  { script: 'scripts/chaos.ts', args: ['--seed', '-1'], option: '--seed' },
  { script: 'scripts/start.ts', args: ['--rate', 'abc'], option: '--rate' },
  { script: 'scripts/start.ts', args: ['--duration', '-1'], option: '--duration' },
  { script: 'infra/src/cli.ts', args: ['logs', 'kafka', '--lines', 'abc'], option: '--lines' },
  { script: 'infra/src/cli.ts', args: ['up', '--brokers', 'two'], option: '--brokers' },
  { script: 'infra/connectors/src/customers-cli.ts', args: ['seed', '--count', 'abc'], option: '--count' },
  { script: 'populator/src/main.ts', args: ['--fraud-share', '1.5'], option: '--fraud-share' },
  { script: 'populator/src/main.ts', args: ['--sold-out', 'HATS'], option: '--sold-out' },
];

describe('numeric command-line options', () => {
  // Each case starts a process: seconds apiece on a busy machine.
  it.each(cases)('$script $args: one line naming $option, exit non-zero', { timeout: 60_000 }, async ({ script, args, option }) => {
    const result = await run(script, args);
    expect(result.code, result.stderr).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: option '(-\\w, )?${option}[ ,]`));
    expect(result.stdout).toBe('');
  });
});
