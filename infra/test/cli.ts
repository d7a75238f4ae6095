import { execFile } from 'node:child_process';
import path from 'node:path';
import { repositoryRoot } from '../src/paths.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the infra CLI the way a user does (`npm run infra -- ...`), without npm's own noise. */
export function runInfraCli(args: string[], environment: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  const tsx = path.join(repositoryRoot, 'node_modules', '.bin', 'tsx');
  return new Promise((resolve) => {
    execFile(
      tsx,
      [path.join(repositoryRoot, 'infra', 'src', 'cli.ts'), ...args],
      { env: environment, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
