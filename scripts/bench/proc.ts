/**
 * CPU and resident memory of processes, from Linux's /proc: `stat` for the process group and
 * the CPU time used so far, `status` for VmRSS. Elasticsearch's launcher forks the server JVM
 * into its process group, so a server is measured as its whole group.
 */
import { readdir, readFile } from 'node:fs/promises';
import { parseResidentBytes, parseStat } from '@ecosystem/infra';

export { parseResidentBytes, parseStat, type ProcessStat } from '@ecosystem/infra';

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every mainstream Linux). */
export const ticksPerSecond = 100;

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
export function parseMachineCpu(procStatText: string): { busy: number; total: number } {
  const line = procStatText.split('\n').find((candidate) => candidate.startsWith('cpu '));
  if (!line) throw new Error('no cpu line in /proc/stat');
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  // idle and iowait are the 4th and 5th values.
  return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total };
}

/** CPU use over an interval as a percentage of one core (200% = two cores busy). */
export function cpuPercent(ticks: number, seconds: number): number {
  return seconds > 0 ? (100 * ticks) / ticksPerSecond / seconds : Number.NaN;
}

/** A process to watch: one pid, or (group) every process of the process group it leads. */
export interface WatchedProcess {
  name: string;
  pid: number;
  group: boolean;
}

export interface ProcessUsage {
  name: string;
  pid: number;
  meanCpuPercent: number;
  maxResidentBytes: number;
}

interface Sample {
  at: number;
  cpuTicks: Map<string, number>;
}

async function readText(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined);
}

/**
 * Samples the watched processes every `intervalMs` between start() and stop(): CPU is the
 * mean over the whole interval, memory the highest resident size seen.
 */
export class ResourceSampler {
  private timer: NodeJS.Timeout | undefined;
  private first: Sample | undefined;
  private last: Sample | undefined;
  /** CPU ticks used since start(), summed from sample to sample so a process that ends does not count backwards. */
  private readonly usedTicks = new Map<string, number>();
  private machineFirst: { busy: number; total: number } | undefined;
  private readonly maxResident = new Map<string, number>();
  private sampling: Promise<void> = Promise.resolve();

  constructor(
    private readonly watched: readonly WatchedProcess[],
    private readonly intervalMs = 1_000,
  ) {}

  start(): void {
    this.first = this.last = undefined;
    this.maxResident.clear();
    this.usedTicks.clear();
    this.sampling = this.sample();
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample());
    }, this.intervalMs);
  }

  async stop(): Promise<{ processes: ProcessUsage[]; machineCpuPercent: number }> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    const machineLast = parseMachineCpu((await readText('/proc/stat')) ?? '');
    const machineCpuPercent = this.machineFirst ? (100 * (machineLast.busy - this.machineFirst.busy)) / Math.max(1, machineLast.total - this.machineFirst.total) : Number.NaN;
    const seconds = this.first && this.last ? (this.last.at - this.first.at) / 1_000 : 0;
    const processes = this.watched.map(({ name, pid }) => ({
      name,
      pid,
      meanCpuPercent: cpuPercent(this.usedTicks.get(name) ?? 0, seconds),
      maxResidentBytes: this.maxResident.get(name) ?? 0,
    }));
    return { processes, machineCpuPercent };
  }

  private async sample(): Promise<void> {
    const at = performance.now();
    if (!this.first) this.machineFirst = parseMachineCpu((await readText('/proc/stat')) ?? '');
    const members = await this.members();
    const cpuTicks = new Map<string, number>();
    for (const { name } of this.watched) {
      let ticks = 0;
      let resident = 0;
      for (const pid of members.get(name) ?? []) {
        const [stat, status] = await Promise.all([readText(`/proc/${pid}/stat`), readText(`/proc/${pid}/status`)]);
        if (stat === undefined || status === undefined) continue; // it ended while we looked
        ticks += parseStat(stat).cpuTicks;
        resident += parseResidentBytes(status) ?? 0;
      }
      cpuTicks.set(name, ticks);
      const used = ticks - (this.last?.cpuTicks.get(name) ?? ticks);
      if (used > 0) this.usedTicks.set(name, (this.usedTicks.get(name) ?? 0) + used);
      this.maxResident.set(name, Math.max(this.maxResident.get(name) ?? 0, resident));
    }
    const sample = { at, cpuTicks };
    this.first ??= sample;
    this.last = sample;
  }

  /** The pids that make up each watched process right now. */
  private async members(): Promise<Map<string, number[]>> {
    const members = new Map(this.watched.map(({ name, pid }) => [name, [pid]]));
    const groups = this.watched.filter((watched) => watched.group);
    if (groups.length === 0) return members;
    for (const entry of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
      const stat = await readText(`/proc/${entry}/stat`);
      if (stat === undefined) continue;
      const pid = Number(entry);
      const { processGroup } = parseStat(stat);
      for (const group of groups) if (processGroup === group.pid && pid !== group.pid) members.get(group.name)!.push(pid);
    }
    return members;
  }
}

/** Every process with its parent and command line (arguments joined by spaces). */
export async function listProcesses(): Promise<Array<{ pid: number; parent: number; processGroup: number; commandLine: string }>> {
  const found = [];
  for (const entry of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const [stat, command] = await Promise.all([readText(`/proc/${entry}/stat`), readText(`/proc/${entry}/cmdline`)]);
    if (stat === undefined || command === undefined) continue;
    found.push({ pid: Number(entry), ...parseStat(stat), commandLine: command.replaceAll('\0', ' ').trim() });
  }
  return found;
}

/**
 * The process group of the first process whose command line matches: the way to find a
 * server that another checkout's launcher started (its pid file is under that checkout).
 */
export async function findProcessGroup(commandLine: RegExp): Promise<number | undefined> {
  return (await listProcesses()).find((candidate) => commandLine.test(candidate.commandLine))?.processGroup;
}
