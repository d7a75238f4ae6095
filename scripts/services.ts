import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { localPaths, repositoryRoot } from '@ecosystem/infra';

/** A service of the system: its folder (with src/main.ts) and the port of its HTTP endpoints. */
export interface ServiceSpec {
  name: string;
  port: number;
  /** Entry point relative to the repository (default `<name>/src/main.ts`). */
  entry?: string;
}

export const pipelineServices: ServiceSpec[] = [
  { name: 'orders-service', port: 8000 },
  { name: 'inventory-service', port: 8101 },
  { name: 'fraud-service', port: 8102 },
  { name: 'order-details-service', port: 8103 },
  { name: 'validation-aggregator', port: 8104 },
];

/** Everything `npm start` runs: the pipeline and the services around it. */
export const allServices: ServiceSpec[] = [
  ...pipelineServices,
  { name: 'order-enrichment', port: 8010 },
  { name: 'email-service', port: 8105 },
  { name: 'customers-source', port: 8106, entry: 'infra/connectors/src/customers-source-main.ts' },
  { name: 'orders-sink', port: 8107, entry: 'infra/connectors/src/orders-sink-main.ts' },
  { name: 'dashboard', port: 8090 },
];

/** Written by `npm start` while it runs: its pid and what it started, for `npm run stop` and `npm run status`. */
export const systemPidFile = path.join(localPaths.run, 'system.json');

const colors = [36, 33, 35, 32, 34, 31, 96, 93];

/**
 * Runs each service as its own process: output prefixed with the service name on the
 * terminal and kept in `.local/logs/<service>.log`; a service that crashes is reported and
 * restarted after a short backoff; `stopAll` sends SIGTERM and waits for every one.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;

  /** Warnings and errors of the services, for the summary screen. */
  onWarning: (line: string) => void = () => {};

  constructor(private readonly options: { echo: boolean; environment?: NodeJS.ProcessEnv } = { echo: true }) {}

  private get environment(): NodeJS.ProcessEnv {
    return this.options.environment ?? {};
  }

  start(spec: ServiceSpec, index: number): void {
    const logs = path.join(repositoryRoot, '.local', 'logs');
    mkdirSync(logs, { recursive: true });
    const file = createWriteStream(path.join(logs, `${spec.name}.log`), { flags: 'a' });
    this.launch(spec, index, file, 0);
  }

  private launch(spec: ServiceSpec, index: number, file: WriteStream, restarts: number): void {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repositoryRoot, spec.entry ?? path.join(spec.name, 'src', 'main.ts'))], {
      cwd: repositoryRoot,
      env: { ...process.env, PORT: String(spec.port), ...this.environment },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches only the supervisor, which stops each service once.
      detached: true,
    });
    this.children.set(spec.name, child);
    const prefix = `\u001b[${colors[index % colors.length]}m${spec.name.padEnd(22)}\u001b[0m| `;
    const relay = (chunk: Buffer) => {
      file.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        if (this.options.echo) process.stdout.write(`${prefix}${readable(line)}\n`);
        else if (/"level":"(warn|error|fatal)"/.test(line)) this.onWarning(`${spec.name}: ${readable(line).slice(0, 160)}`);
      }
    };
    child.stdout!.on('data', relay);
    child.stderr!.on('data', relay);
    child.on('exit', (code, signal) => {
      if (this.stopping) return;
      const delay = Math.min(30_000, 1_000 * 2 ** restarts);
      process.stdout.write(`${prefix}exited (${signal ?? code}); restarting in ${delay / 1000} s\n`);
      setTimeout(() => this.launch(spec, index, file, restarts + 1), delay).unref();
    });
  }

  /** A one-off process (the populator): its output prefixed like a service's, not restarted. */
  runOnce(name: string, args: string[]): void {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: repositoryRoot, env: { ...process.env, ...this.environment }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.children.set(name, child);
    const prefix = `\u001b[1m${name.padEnd(22)}\u001b[0m| `;
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim() && this.options.echo) process.stdout.write(`${prefix}${line}\n`);
    };
    child.stdout!.on('data', relay);
    child.stderr!.on('data', relay);
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
            child.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}

/** A JSON log line as `time level message key=value ...` for the terminal; files keep the JSON. */
export function readable(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, service: _service, name: _name, component: _component, ...fields } = entry;
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  const details = Object.entries(fields)
    .filter(([, value]) => value !== undefined && typeof value !== 'object')
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
  return `${clock} ${String(level ?? '').padEnd(5)} ${String(msg ?? '')}${details ? ` ${details}` : ''}`;
}
