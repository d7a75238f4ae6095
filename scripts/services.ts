import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { localPaths, repositoryRoot } from '@ecosystem/infra';

/** A service of the system: its name as `scripts/run-service` takes it (its folder, or a connector worker) and the port of its HTTP endpoints. */
export interface ServiceSpec {
  name: string;
  port: number;
  /** Variables of its own, besides the supervisor's environment. */
  environment?: NodeJS.ProcessEnv;
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
  { name: 'customers-source', port: 8106 },
  { name: 'orders-sink', port: 8107 },
  { name: 'dashboard', port: 8090 },
];

const colors = [36, 33, 35, 32, 34, 31, 96, 93];

/**
 * How every process of the system starts: its compiled JavaScript, with the watchdog that stops it
 * when the supervisor is gone. The same script is what benchmarks and tests start, so they measure
 * and test what users run.
 */
export const runService = path.join(repositoryRoot, 'scripts', 'run-service');

/** Where a process the supervisor runs writes its output. */
export function logFile(name: string): string {
  return path.join(localPaths.logs, `${name}.log`);
}

/**
 * Runs each service as its own process: output appended to `.local/logs/<service>.log` by the
 * process itself (so nothing is lost when the supervisor goes), followed from there for the
 * terminal; a service that crashes is reported and restarted after a short backoff; `stopAll`
 * sends SIGTERM and waits for every one. No process outlives the supervisor: each one loads the
 * watchdog (scripts/watchdog.ts), which stops it when its stdin, held open by the supervisor,
 * ends. Each is in a process group of its own, so Ctrl-C reaches only the supervisor, which
 * stops each service once.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly followers: LogFollower[] = [];
  private stopping = false;

  /** Warnings and errors of the services, for the summary screen. */
  onWarning: (line: string) => void = () => {};
  /** Every process it starts, and every restart, with its new pid. */
  onLaunch: (name: string, pid: number, port: number | undefined) => void = () => {};

  constructor(
    private readonly options: {
      echo: boolean;
      environment?: NodeJS.ProcessEnv;
      /** The program and arguments that start a process by name (default: `scripts/run-service <name>`). */
      command?: (name: string) => [string, string[]];
    } = { echo: true },
  ) {}

  private get environment(): NodeJS.ProcessEnv {
    return this.options.environment ?? {};
  }

  start(spec: ServiceSpec, index: number): void {
    const prefix = `\u001b[${colors[index % colors.length]}m${spec.name.padEnd(22)}\u001b[0m| `;
    this.follow(spec.name, (line) => {
      if (this.options.echo) process.stdout.write(`${prefix}${readable(line)}\n`);
      else if (/"level":"(warn|error|fatal)"/.test(line)) this.onWarning(`${spec.name}: ${readable(line).slice(0, 160)}`);
    });
    this.launch(spec, prefix, 0);
  }

  private spawn(name: string, args: string[], environment: NodeJS.ProcessEnv): ChildProcess {
    mkdirSync(localPaths.logs, { recursive: true });
    const log = openSync(logFile(name), 'a');
    const [program, programArguments] = this.options.command?.(name) ?? [runService, [name]];
    try {
      const child = spawn(program, [...programArguments, ...args], {
        cwd: repositoryRoot,
        env: { ...process.env, ...environment, SUPERVISOR_PID: String(process.pid) },
        // stdin: the pipe whose end tells the watchdog that the supervisor is gone; never written.
        stdio: ['pipe', log, log],
        detached: true,
      });
      this.children.set(name, child);
      if (child.pid !== undefined) this.onLaunch(name, child.pid, Number(environment.PORT) || undefined);
      return child;
    } finally {
      closeSync(log);
    }
  }

  private launch(spec: ServiceSpec, prefix: string, restarts: number): void {
    const child = this.spawn(spec.name, [], { PORT: String(spec.port), ...this.environment, ...spec.environment });
    child.on('exit', (code, signal) => {
      if (this.stopping) return;
      const delay = Math.min(30_000, 1_000 * 2 ** restarts);
      const line = `exited (${signal ?? code}); restarting in ${delay / 1000} s`;
      if (this.options.echo) process.stdout.write(`${prefix}${line}\n`);
      else this.onWarning(`${spec.name}: ${line}`);
      setTimeout(() => {
        if (!this.stopping) this.launch(spec, prefix, restarts + 1);
      }, delay).unref();
    });
  }

  /** A one-off process (the populator, with its arguments): logged and shown like a service, not restarted. */
  runOnce(name: string, args: string[]): void {
    const prefix = `\u001b[1m${name.padEnd(22)}\u001b[0m| `;
    this.follow(name, (line) => {
      if (this.options.echo) process.stdout.write(`${prefix}${line}\n`);
    });
    this.spawn(name, args, this.environment);
  }

  private follow(name: string, onLine: (line: string) => void): void {
    const follower = new LogFollower(logFile(name), onLine);
    this.followers.push(follower);
    follower.start();
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
    // The last lines the services wrote while stopping.
    await Promise.all(this.followers.map((follower) => follower.stop()));
  }
}

/** Reads the lines appended to a file from now on (polling: the file may not exist yet, and is appended by other processes). */
export class LogFollower {
  private offset: number | undefined;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly onLine: (line: string) => void,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    try {
      this.offset = statSync(this.file).size;
    } catch {
      this.offset = 0;
    }
    this.timer = setInterval(() => {
      this.reading = this.reading.then(() => this.read());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async read(): Promise<void> {
    let size: number;
    try {
      size = (await stat(this.file)).size;
    } catch {
      return;
    }
    if (this.offset === undefined || size === this.offset) return;
    // Truncated or replaced (a reset): start again from its beginning.
    if (size < this.offset) this.offset = 0;
    const handle = await open(this.file, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      const lines = (this.partial + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.onLine(line);
    } finally {
      await handle.close();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.reading = this.reading.then(() => this.read()).catch(() => undefined);
    await this.reading;
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
