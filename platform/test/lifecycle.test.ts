import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const fixture = path.join(import.meta.dirname, 'fixtures', 'service.ts');

function run(environment: Record<string, string>): Promise<{ code: number; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', fixture], { env: { ...process.env, LOG_LEVEL: '', ...environment }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, lines: stdout.split('\n').filter(Boolean), stderr });
    });
  });
}

describe('runService', () => {
  it('gives the logger the level of the parsed configuration', async () => {
    const warn = await run({ LOG_LEVEL: 'warn' });
    expect(warn.code).toBe(0);
    expect(warn.lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['a warn line']);
    const debug = await run({ LOG_LEVEL: 'debug', PORT: '8123' });
    const messages = debug.lines.map((line) => JSON.parse(line) as { msg: string; port?: number; level: string });
    // The fixture's own lines, each level's once; the lifecycle's lines come with them. (Not their
    // order on the pipe: CI once read the debug line last, though its time was the earliest.)
    const written = ['a debug line', 'an info line', 'a warn line'];
    expect(messages.map((message) => message.msg).filter((message) => written.includes(message)).sort(), JSON.stringify(messages)).toEqual([...written].sort());
    expect(messages.find((message) => message.msg === 'an info line')!.port).toBe(8123);
  }, 60_000);

  it('refuses a bad configuration in one line per variable, without a stack, before anything starts', async () => {
    const bad = await run({ LOG_LEVEL: 'loud', PORT: 'x' });
    expect(bad.code).toBe(1);
    expect(bad.lines).toEqual([]);
    expect(bad.stderr).toMatch(/^fixture-service: Invalid configuration:\n {2}- LOG_LEVEL: .*\(got "loud"\)\n {2}- PORT: .*\(got "x"\)\n$/);
  }, 60_000);
});
