/**
 * The one record of what the running (or last) `npm start` started: its own pid, every
 * process it launched, and the servers it brought up. `npm start` writes it and keeps it up to
 * date as services restart; `npm run stop` and `npm run status` both read it, so they always
 * agree on what runs. A recorded pid counts only while it names the same process: alive, and
 * started at the recorded time (Linux's /proc/<pid>/stat), so a reused pid is never taken
 * for a service. Linux only, like the supervisor's watchdog.
 */
import { readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { localPaths, processStartTicks, type ServerName } from '@ecosystem/infra';

/** A process as the record names it: pid plus start time. */
export interface RecordedProcess {
  name: string;
  pid: number;
  startTicks: number;
  /** The port of its HTTP endpoints, for a service. */
  port?: number;
}

export interface SystemRecord {
  startedAt: string;
  supervisor: RecordedProcess;
  /** The processes it runs now (services and the populator), by name: a restarted service replaces its entry. */
  processes: RecordedProcess[];
  /** Local servers this `npm start` launched (or took over from a crashed one), which it stops on exit. */
  startedServers: ServerName[];
  keepInfra: boolean;
}

export const systemRecordFile = path.join(localPaths.run, 'system.json');

/** The process as it can be recorded (it must be alive). */
export function describeProcess(name: string, pid: number, port?: number): RecordedProcess {
  const startTicks = processStartTicks(pid);
  if (startTicks === undefined) throw new Error(`process ${pid} (${name}) is not running`);
  return { name, pid, startTicks, ...(port === undefined ? {} : { port }) };
}

/** True while the recorded process is the one that runs under its pid (not a zombie, not a reused pid). */
export function isRunning(process: RecordedProcess): boolean {
  if (processStartTicks(process.pid) !== process.startTicks) return false;
  try {
    // A zombie (exited, not yet reaped by its parent) still has a stat: it is not running.
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${process.pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export function readSystemRecord(file = systemRecordFile): SystemRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as Partial<SystemRecord>;
    if (!record.supervisor || !Array.isArray(record.processes)) return undefined;
    return { startedAt: record.startedAt ?? '', supervisor: record.supervisor, processes: record.processes, startedServers: record.startedServers ?? [], keepInfra: record.keepInfra ?? false };
  } catch {
    return undefined;
  }
}

/** Written whole and renamed into place: a reader never sees half a record. Synchronous, so exit handlers can use it. */
export function writeSystemRecord(record: SystemRecord, file = systemRecordFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(partial, file);
}

/**
 * Keeps a record's processes current: call it with each process the supervisor launches. A
 * restarted service replaces its entry; one that ended at once is left out.
 */
export function recordLaunch(record: SystemRecord, name: string, pid: number, port: number | undefined, file = systemRecordFile): void {
  const others = record.processes.filter((process) => process.name !== name);
  try {
    record.processes = [...others, describeProcess(name, pid, port)];
  } catch {
    record.processes = others;
  }
  writeSystemRecord(record, file);
}

export function removeSystemRecord(file = systemRecordFile): void {
  rmSync(file, { force: true });
}

/** What the record says runs now: the one view `stop` acts on and `status` shows. */
export interface SystemState {
  record: SystemRecord;
  /** The supervisor itself runs: `stop` asks it to stop everything. */
  supervisorRunning: boolean;
  /** Recorded processes that still run. */
  running: RecordedProcess[];
}

export function inspectSystem(record: SystemRecord | undefined = readSystemRecord()): SystemState | undefined {
  if (!record) return undefined;
  return { record, supervisorRunning: isRunning(record.supervisor), running: record.processes.filter(isRunning) };
}

/**
 * Stops recorded processes that outlived their supervisor: SIGTERM, then SIGKILL for those
 * still running after `graceMs`. Returns the ones it signalled.
 */
export async function stopProcesses(processes: RecordedProcess[], graceMs = 20_000): Promise<RecordedProcess[]> {
  const signal = (target: RecordedProcess, name: NodeJS.Signals) => {
    // Checked right before each signal: the pid must still be ours.
    if (!isRunning(target)) return;
    try {
      process.kill(target.pid, name);
    } catch {
      // Gone meanwhile.
    }
  };
  const targets = processes.filter(isRunning);
  for (const target of targets) signal(target, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (targets.some(isRunning) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  for (const target of targets) signal(target, 'SIGKILL');
  while (targets.some(isRunning)) await new Promise((resolve) => setTimeout(resolve, 100));
  return targets;
}
