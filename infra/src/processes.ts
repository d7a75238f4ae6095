import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, writeFile, readlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { sleep } from 'kstreams';
import { localPaths, type InfraPaths } from './paths.ts';

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts a server detached from this CLI (it outlives `infra up`), in its own process
 * group so `down` can stop the whole tree (Elasticsearch's launcher forks the server JVM),
 * with stdout and stderr appended to its log file.
 */
export async function launch(server: string, spec: LaunchSpec, paths: InfraPaths = localPaths): Promise<number> {
  await mkdir(paths.logs, { recursive: true });
  await mkdir(paths.run, { recursive: true });
  const log = await open(paths.log(server), 'a');
  await log.write(`\n===== ${new Date().toISOString()} starting ${server}: ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  child.unref();
  await log.close();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${server} did not start`);
  // The start time makes the record name this process only, even once its pid is reused.
  const startTicks = processStartTicks(pid);
  await writeFile(paths.pidFile(server), startTicks === undefined ? `${pid}\n` : `${pid} ${startTicks}\n`);
  return pid;
}

/** The pid file of a server: its pid, and its start time where /proc gives one. */
async function readPidFile(server: string, paths: InfraPaths): Promise<{ pid: number; startTicks?: number } | undefined> {
  try {
    const [pid, startTicks] = (await readFile(paths.pidFile(server), 'utf8')).trim().split(/\s+/).map(Number);
    if (!Number.isInteger(pid) || pid! <= 0) return undefined;
    return Number.isInteger(startTicks) ? { pid: pid!, startTicks: startTicks! } : { pid: pid! };
  } catch {
    return undefined;
  }
}

export async function readPid(server: string, paths: InfraPaths = localPaths): Promise<number | undefined> {
  return (await readPidFile(server, paths))?.pid;
}

/** The start time of a live process, in clock ticks after boot, or undefined when there is no such process (or no /proc). */
export function processStartTicks(pid: number): number | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).startTicks;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pid from our pid file, if that process is still ours: alive, and (where /proc exists)
 * started at the recorded time, so a recycled pid is never mistaken for a server.
 */
export async function runningPid(server: string, paths: InfraPaths = localPaths): Promise<number | undefined> {
  const record = await readPidFile(server, paths);
  if (record === undefined || !isAlive(record.pid)) return undefined;
  const { pid } = record;
  if (record.startTicks !== undefined) {
    const startTicks = processStartTicks(pid);
    // No /proc (macOS): trust the pid file.
    return startTicks === undefined || startTicks === record.startTicks ? pid : undefined;
  }
  // A pid file without a start time (written before they had one): the process must work in
  // our folders. (Not while it starts: a JVM visits its perf-data folder then.)
  try {
    const cwd = await readlink(`/proc/${pid}/cwd`);
    if (!cwd.startsWith(paths.home)) return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return pid;
    // No /proc (macOS): trust the pid file.
  }
  return pid;
}

/**
 * Resident memory of a server's whole process group, in bytes (Linux only): Elasticsearch's
 * launcher JVM forks the real server JVM, and both count.
 */
export async function residentMemory(pid: number): Promise<number | undefined> {
  let total = 0;
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries.filter((name) => /^\d+$/.test(name))) {
    try {
      if (parseStat(await readFile(`/proc/${entry}/stat`, 'utf8')).processGroup !== pid) continue;
      total += parseResidentBytes(await readFile(`/proc/${entry}/status`, 'utf8')) ?? 0;
    } catch {
      // The process ended while we looked.
    }
  }
  return total > 0 ? total : undefined;
}

export interface ProcessStat {
  parent: number;
  processGroup: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** When the process started, in clock ticks after boot: with the pid, it names one process (pids are reused). */
  startTicks: number;
}

/** Parses /proc/<pid>/stat. The command name is in parentheses and may hold spaces, so fields are counted after the last ')'. */
export function parseStat(text: string): ProcessStat {
  const fields = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  // After the name: state(3) ppid(4) pgrp(5) ... utime(14) stime(15) ... starttime(22), numbered as in proc(5).
  const field = (number: number) => Number(fields[number - 3]);
  const stat = { parent: field(4), processGroup: field(5), cpuTicks: field(14) + field(15), startTicks: field(22) };
  if (!Object.values(stat).every(Number.isFinite)) throw new Error(`unreadable /proc stat: ${text.slice(0, 80)}`);
  return stat;
}

/** VmRSS of /proc/<pid>/status, in bytes (undefined for a kernel thread or a zombie). */
export function parseResidentBytes(statusText: string): number | undefined {
  const kibibytes = /^VmRSS:\s+(\d+) kB/m.exec(statusText)?.[1];
  return kibibytes === undefined ? undefined : Number(kibibytes) * 1024;
}

/**
 * SIGTERM to the process group, then SIGKILL if it has not exited after `graceMs`
 * (a grace of 0 is a crash: SIGKILL at once).
 */
export async function stop(server: string, pid: number, graceMs = 30_000, paths: InfraPaths = localPaths): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  };
  if (graceMs > 0) signalGroup('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signalGroup('SIGKILL');
  while (isAlive(pid)) await sleep(100);
  await rm(paths.pidFile(server), { force: true });
}

/** True when something accepts TCP connections on the port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function logTail(server: string, lines = 25, paths: InfraPaths = localPaths): Promise<string> {
  try {
    const text = await readFile(paths.log(server), 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log yet)';
  }
}

/**
 * The line of a server's log that most likely says why it did not start: the deepest `Caused
 * by:` of the last exception, else the last line at ERROR or FATAL level (warnings are never a
 * cause). Undefined when the log holds no error.
 */
export function startupCause(logText: string): string | undefined {
  const lines = logText.split('\n').map((line) => line.trim()).filter(Boolean);
  const errors = lines.filter((line) => /\b(ERROR|FATAL|SEVERE)\b|^Exception in thread|^Error:|^Caused by:|bootstrap checks failed|bootstrap check failure/.test(line) && !/\b(WARN|WARNING|INFO|DEBUG)\b/.test(line.slice(0, 60)));
  const cause = [...errors].reverse().find((line) => line.startsWith('Caused by:')) ?? errors[errors.length - 1];
  return cause === undefined ? undefined : cause.length > 300 ? `${cause.slice(0, 300)}...` : cause;
}

/** The size of a server's log, to tell a server that is slowly starting (its log moves) from one that is stuck. */
export async function logSize(server: string, paths: InfraPaths = localPaths): Promise<number> {
  try {
    return (await stat(paths.log(server))).size;
  } catch {
    return 0;
  }
}

/** Recognizes the usual reasons a server dies at startup and names the fix. */
export function likelyFix(logText: string): string | undefined {
  const known: Array<[RegExp, string]> = [
    [/Address already in use|BindException/, 'A port is taken by another program: stop it, or point the project at it with the *_URL / KAFKA_BROKERS variables.'],
    [/UnsupportedClassVersionError/, 'The server needs a newer Java: install a newer JDK and set JAVA_HOME to it.'],
    [/OutOfMemoryError|Cannot allocate memory|insufficient memory/, 'The server ran out of memory: free some memory or raise its heap (INFRA_*_HEAP).'],
    [/No space left on device|flood stage disk watermark/, 'The disk is full: free space, or run `npm run infra -- reset` to drop local data.'],
    // Only when the bootstrap checks are enforced and failed: in single-node mode Elasticsearch
    // merely warns about vm.max_map_count, and the warning is no reason for a failed start.
    [/bootstrap checks failed[\s\S]*vm\.max_map_count|vm\.max_map_count[\s\S]*bootstrap checks failed/, 'Raise vm.max_map_count: sudo sysctl -w vm.max_map_count=262144.'],
    [/Invalid cluster\.id|InconsistentClusterIdException|meta\.properties/, 'The Kafka data folder belongs to another cluster: run `npm run infra -- reset`.'],
    [/AccessDeniedException|Permission denied/, 'A file or folder is not accessible to the server user: run `npm run infra -- reset`, or check the permissions of INFRA_HOME.'],
    [/can not run elasticsearch as root/, 'Elasticsearch refuses root; the launcher runs it as an unprivileged user (INFRA_ELASTICSEARCH_USER).'],
  ];
  return known.find(([pattern]) => pattern.test(logText))?.[1];
}

export function relative(file: string): string {
  return path.relative(process.cwd(), file) || '.';
}
