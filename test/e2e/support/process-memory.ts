import { readFile } from 'node:fs/promises';
import { parseResidentBytes } from '@ecosystem/infra';

/** Resident set size of another process, from /proc (process.memoryUsage only sees this one). */
export async function residentBytes(pid: number): Promise<number> {
  const resident = parseResidentBytes(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (resident === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return resident;
}

export const mebibytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
