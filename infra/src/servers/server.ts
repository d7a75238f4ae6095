import type { InfraPaths } from '../paths.ts';
import type { LaunchSpec } from '../processes.ts';

export type ServerName = 'kafka' | 'registry' | 'elasticsearch';

/**
 * One server the project can run locally. When `externalVariable` is set in the
 * environment, the launcher starts nothing and only checks the server it names.
 */
export interface LocalServer {
  name: ServerName;
  /** The process's own name (pid file, log file): the server's name, or `kafka-2`... for the other brokers of a cluster. */
  id: string;
  /** Where its pid file and log live. */
  paths: InfraPaths;
  title: string;
  /** The environment variable that points the whole project at an external server. */
  externalVariable: string;
  /** Where clients reach the server: the external value, else the local default. */
  endpoint: string;
  /** The ports the local server listens on (checked before start). */
  ports: number[];
  /** Minimum Java major version. */
  javaVersion: number;
  startupTimeoutMs: number;
  /** Downloads (first time) and unpacks the server; fast when cached. */
  fetch(): Promise<void>;
  /** Writes configuration, prepares data folders and returns the command to run. */
  prepare(): Promise<LaunchSpec>;
  isHealthy(): Promise<boolean>;
}

export function isExternal(server: LocalServer): boolean {
  return Boolean(process.env[server.externalVariable]);
}

export function heapOption(server: ServerName, fallback: string): string {
  return process.env[`INFRA_${server.toUpperCase()}_HEAP`] ?? fallback;
}

export async function httpOk(url: string, timeoutMs = 2_000): Promise<Response | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? response : undefined;
  } catch {
    return undefined;
  }
}
