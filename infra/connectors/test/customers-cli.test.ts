import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../src/customers-cli.ts', import.meta.url));
const tsx = path.resolve(import.meta.dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');
let directory: string;
let db: string;

function run(args: string[], environment: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, [cli, ...args], { timeout: 60_000, env: { ...process.env, ...environment } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'customers-cli-'));
  db = path.join(directory, 'customers.db');
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('the customers CLI', () => {
  it('explains its commands with --help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/seed .*add .*list/s);
  });

  it('seeds once, adds customers printing their ids, and lists them', async () => {
    expect((await run(['seed', '--count', '9', '--db', db])).stdout).toContain('seeded 9 customers');
    expect((await run(['seed', '--count', '9', '--db', db])).stdout).toContain('nothing seeded');
    const added = await run(['add', '--first-name', 'Grace', '--last-name', 'Hopper', '--email', 'grace@example.com', '--address', '1 Navy Way', '--level', 'gold'], { CUSTOMERS_DB: db });
    expect(added).toMatchObject({ code: 0, stdout: '10\n' });
    const listed = (await run(['list', '--db', db])).stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: number; level: string });
    expect(listed.map((customer) => customer.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(listed.at(-1)).toEqual({ id: 10, firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', address: '1 Navy Way', level: 'gold' });
  });

  it('refuses an unknown level and a missing field', async () => {
    const badLevel = await run(['add', '--first-name', 'A', '--last-name', 'B', '--email', 'e', '--address', 'x', '--level', 'wood', '--db', db]);
    expect(badLevel.code).toBe(1);
    expect(badLevel.stderr).toContain("argument 'wood' is invalid");
    const missing = await run(['add', '--first-name', 'A', '--db', db]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("required option '--last-name <name>' not specified");
  });
});
