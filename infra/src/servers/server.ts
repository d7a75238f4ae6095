import { ConfigError, loadConfig, type Environment, type ProbeAnswer } from '@ecosystem/platform';
import type { z } from 'zod';
import { InfraError } from '../errors.ts';
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
  /** A node of a test's private cluster: never external, whatever `externalVariable` says (it names the shared server). */
  neverExternal?: boolean;
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
  return !server.neverExternal && Boolean(process.env[server.externalVariable]);
}

export function heapOption(server: ServerName, fallback: string): string {
  return process.env[`INFRA_${server.toUpperCase()}_HEAP`] ?? fallback;
}

/**
 * The client settings of `shape` (KAFKA_SECURITY_PROTOCOL, SCHEMA_REGISTRY_USERNAME...), read by
 * the project's one configuration loader, so a probe reaches a server as the services do; wrong
 * settings are an InfraError naming them.
 */
export function clientSettings<Shape extends z.ZodRawShape>(shape: Shape, environment: Environment = process.env): z.infer<z.ZodObject<Shape>> {
  try {
    return loadConfig(shape, environment);
  } catch (error) {
    if (error instanceof ConfigError) throw new InfraError(`The client settings are wrong: ${error.problems.join('; ')}`, 'Fix the variables named above.');
    throw error;
  }
}

/** Healthy or not; credentials or TLS settings the server refuses are an error at once, naming the setting, not a wait until the timeout. */
export function healthOf(answer: ProbeAnswer): boolean {
  if (answer.state === 'refused') throw new InfraError(answer.reason, 'Fix the setting named above.');
  return answer.state === 'up';
}
