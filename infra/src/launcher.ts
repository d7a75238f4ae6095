import { rm } from 'node:fs/promises';
import { InfraError } from './errors.ts';
import { localPaths } from './paths.ts';
import os from 'node:os';
import { launch, likelyFix, logSize, logTail, portInUse, residentMemory, runningPid, startupCause, stop } from './processes.ts';
import { sleep } from 'kstreams';
import { elasticsearchServer } from './servers/elasticsearch.ts';
import { bootstrapServers, brokerCountMismatch, formattedBrokerCount, formattedSecure, kafkaServers, loopbackLayout, securityMismatch } from './servers/kafka.ts';
import { clientEnvironmentFile } from './servers/kafka-security.ts';
import { registryServer } from './servers/registry.ts';
import { isExternal, type LocalServer, type ServerName } from './servers/server.ts';

export type { ServerName };

export interface InfraOptions {
  /**
   * Kafka brokers to run: 1, or 3 for a local cluster (replication factor 3, min.insync.replicas 2).
   * Default: KAFKA_BROKER_COUNT, else what the data folder was formatted for, else 1.
   */
  brokers?: number;
  /**
   * Kafka takes clients over SASL_SSL only (TLS with its own CA, SCRAM-SHA-512/256 or PLAIN
   * users); their settings are written to `.local/secure/client.env`. Default: as formatted.
   */
  secure?: boolean;
}

function requestedBrokers(options: InfraOptions): number | undefined {
  const requested = options.brokers ?? (process.env.KAFKA_BROKER_COUNT ? Number(process.env.KAFKA_BROKER_COUNT) : undefined);
  if (requested !== undefined && requested !== 1 && requested !== 3) {
    throw new InfraError(`Cannot run ${requested} Kafka brokers: the local cluster has 1 or 3.`, 'Use --brokers 1 or --brokers 3 (or KAFKA_BROKER_COUNT=1|3).');
  }
  return requested;
}

/**
 * How many brokers to run. `up` obeys the request (and refuses one that does not match the
 * formatted data); `status` and `down` follow the data, so they need no flag after `up --brokers 3`.
 */
async function brokerCount(options: InfraOptions, prefer: 'request' | 'data'): Promise<number> {
  const requested = requestedBrokers(options);
  const formatted = await formattedBrokerCount();
  return (prefer === 'request' ? (requested ?? formatted) : (formatted ?? requested)) ?? 1;
}

/** Whether the local Kafka runs secured: as asked, else as formatted (`status` and `down` follow the data). */
async function secureMode(options: InfraOptions, prefer: 'request' | 'data'): Promise<boolean> {
  const formatted = await formattedSecure();
  return (prefer === 'request' ? (options.secure ?? formatted) : (formatted ?? options.secure)) ?? false;
}

/** The servers in start order; they are independent, so they start side by side. */
export async function allServers(options: InfraOptions = {}, prefer: 'request' | 'data' = 'data'): Promise<LocalServer[]> {
  return [...kafkaServers(await brokerCount(options, prefer), await secureMode(options, prefer)), registryServer(), elasticsearchServer()];
}

async function select(names: readonly ServerName[] | undefined, options: InfraOptions = {}, prefer: 'request' | 'data' = 'data'): Promise<LocalServer[]> {
  const servers = await allServers(options, prefer);
  return names && names.length > 0 ? servers.filter((server) => names.includes(server.name)) : servers;
}

export type Report = (line: string) => void;

/** Downloads and unpacks every local server that is not external. */
export async function fetchServers(names?: readonly ServerName[]): Promise<void> {
  const servers = await select(names);
  // The nodes of a cluster share one download.
  for (const server of servers.filter((candidate, index) => servers.findIndex((other) => other.name === candidate.name) === index)) {
    if (!isExternal(server)) await server.fetch();
  }
}

/**
 * How long a server may take to become healthy: its own limit, stretched on a busy machine
 * (by the load average per core, up to three times), or INFRA_STARTUP_TIMEOUT seconds.
 */
export function startupLimitMs(server: Pick<LocalServer, 'startupTimeoutMs'>, environment: NodeJS.ProcessEnv = process.env, load = os.loadavg()[0] ?? 0, cores = os.cpus().length): number {
  const configured = Number(environment.INFRA_STARTUP_TIMEOUT);
  if (environment.INFRA_STARTUP_TIMEOUT && Number.isFinite(configured) && configured > 0) return configured * 1_000;
  return Math.round(server.startupTimeoutMs * Math.min(3, Math.max(1, load / Math.max(1, cores))));
}


/**
 * Waits until the server is healthy, reporting progress while it waits, and tells slow from
 * broken: a server that exited is broken at once; one past its limit whose log still moves
 * is given up to twice as long again; one past it with a quiet log is stuck. The error names
 * the cause from the server's log (an error line, never a warning).
 */
async function waitHealthy(server: LocalServer, pid: number | undefined, report: Report = () => {}): Promise<void> {
  const started = Date.now();
  const limit = startupLimitMs(server);
  const progressEveryMs = Math.min(15_000, Math.max(1_000, limit / 4));
  // A server that wrote to its log within this long is starting slowly, not stuck.
  const stalledAfterMs = Math.min(30_000, limit / 2);
  let nextProgress = started + progressEveryMs;
  let size = pid === undefined ? 0 : await logSize(server.id, server.paths);
  let lastMoved = started;
  let extended = false;
  const failure = async (message: string, fallbackFix: string) => {
    const tail = await logTail(server.id, 25, server.paths);
    const cause = startupCause(tail);
    return new InfraError(
      `${message}${cause ? `\ncause (from its log): ${cause}` : ''}`,
      likelyFix(tail) ?? fallbackFix,
      tail,
    );
  };
  for (;;) {
    if (await server.isHealthy()) return;
    const now = Date.now();
    const seconds = Math.round((now - started) / 1000);
    if (pid !== undefined) {
      if ((await runningPid(server.id, server.paths)) === undefined) {
        throw await failure(`${server.title} exited during startup, after ${seconds} s (log: ${server.paths.log(server.id)}).`, 'Read the log above; `npm run infra -- reset` starts from empty data.');
      }
      const current = await logSize(server.id, server.paths);
      if (current !== size) {
        size = current;
        lastMoved = now;
      }
    }
    const quietMs = now - lastMoved;
    if (now >= nextProgress) {
      nextProgress += progressEveryMs;
      report(`${server.id}: still starting after ${seconds} s${pid === undefined ? '' : quietMs < stalledAfterMs ? ' (its log is moving)' : ` (its log has been quiet for ${Math.round(quietMs / 1000)} s)`}`);
    }
    if (now - started >= limit) {
      if (isExternal(server)) {
        throw new InfraError(
          `${server.title} at ${server.endpoint} (from ${server.externalVariable}) is not answering.`,
          `Start that server, or unset ${server.externalVariable} to let the launcher run a local one.`,
        );
      }
      const slow = pid !== undefined && quietMs < stalledAfterMs;
      if (slow && now - started < 3 * limit) {
        if (!extended) report(`${server.id}: slow, but its log is moving: waiting up to ${Math.round((2 * limit) / 1000)} s more`);
        extended = true;
      } else {
        throw await failure(
          slow
            ? `${server.title} was still starting after ${seconds} s (its log kept moving: slow, not stuck).`
            : `${server.title} did not become healthy within ${seconds} s${pid === undefined ? '' : `, and its log has been quiet for ${Math.round(quietMs / 1000)} s`} (log: ${server.paths.log(server.id)}).`,
          slow
            ? 'The machine is probably busy: give it more time with INFRA_STARTUP_TIMEOUT=<seconds>, or start again when it is quieter.'
            : 'Read the log tail above; `npm run infra -- reset` starts from empty data.',
        );
      }
    }
    await sleep(500);
  }
}

/** Starts one server (unless it runs already) and waits until it is healthy; true when it launched it. */
export async function startServer(server: LocalServer, report: Report, onLaunched: (pid: number) => void = () => {}): Promise<boolean> {
  if (isExternal(server)) {
    await waitHealthy(server, undefined, report);
    report(`${server.id}: external at ${server.endpoint} (${server.externalVariable}), healthy`);
    return false;
  }
  const existing = await runningPid(server.id, server.paths);
  if (existing !== undefined) {
    await waitHealthy(server, existing, report);
    report(`${server.id}: already running (pid ${existing}) at ${server.endpoint}`);
    return false;
  }
  for (const port of server.ports) {
    if (await portInUse(port)) {
      throw new InfraError(
        `Port ${port}, needed by the local ${server.title}, is already in use by another program.`,
        `Stop that program, or use it as the server by setting ${server.externalVariable}.`,
      );
    }
  }
  const started = Date.now();
  const pid = await launch(server.id, await server.prepare(), server.paths);
  onLaunched(pid);
  await waitHealthy(server, pid, report);
  report(`${server.id}: started (pid ${pid}) at ${server.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

/**
 * Stops one local server: SIGTERM and a wait for a clean shutdown, or with `graceMs` 0 a
 * SIGKILL (a crash). Returns the pid it stopped, undefined when it was not running.
 */
export async function stopServer(server: LocalServer, graceMs?: number): Promise<number | undefined> {
  const pid = await runningPid(server.id, server.paths);
  if (pid !== undefined) await stop(server.id, pid, graceMs, server.paths);
  return pid;
}

/**
 * Brings the infrastructure up and waits until every server is healthy; returns the servers it
 * launched (not those already running or external), which the caller may stop when done.
 * Idempotent: servers already running are only checked. Every failure is collected so one
 * broken server does not hide another, and a failed `up` stops what it launched before it
 * throws: it leaves no half-started infrastructure behind.
 */
export async function up(names?: readonly ServerName[], report: Report = console.log, options: InfraOptions = {}): Promise<ServerName[]> {
  const servers = await select(names, options, 'request');
  const brokers = servers.filter((server) => server.name === 'kafka' && !isExternal(server)).length;
  const formatted = await formattedBrokerCount();
  // Before anything starts: a broker of the wrong cluster would only fail later, less clearly.
  if (brokers > 0 && formatted !== undefined && formatted !== brokers) throw brokerCountMismatch(localPaths, formatted, brokers);
  const formattedSecurity = await formattedSecure();
  if (brokers > 0 && options.secure !== undefined && formattedSecurity !== undefined && formattedSecurity !== options.secure) throw securityMismatch(localPaths, formattedSecurity);
  await fetchServers(servers.map((server) => server.name));
  // The nodes of a cluster must start together: none is healthy before a quorum of controllers runs.
  const launched = await startServers(servers, report);
  if (brokers > 1) report(`kafka: ${brokers} brokers; clients use KAFKA_BROKERS=${bootstrapServers(loopbackLayout(brokers))}`);
  if (brokers > 0 && (await secureMode(options, 'request'))) {
    report(`kafka: SASL_SSL only; clients need the settings in ${clientEnvironmentFile(localPaths)} (load them with: set -a; . ${clientEnvironmentFile(localPaths)}; set +a)`);
  }
  return [...new Set(launched.map((server) => server.name))];
}

/**
 * Starts servers side by side (the nodes of a cluster must: none is healthy before a quorum of
 * controllers runs) and returns those it launched. Every failure is collected so one broken
 * server does not hide another; when any failed, the ones it launched are stopped again before
 * it throws: what it started, it stops.
 */
export async function startServers(servers: readonly LocalServer[], report: Report): Promise<LocalServer[]> {
  const launched: LocalServer[] = [];
  const results = await Promise.allSettled(servers.map((server) => startServer(server, report, () => launched.push(server))));
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length === 0) return launched;
  for (const server of [...launched].reverse()) {
    const pid = await stopServer(server);
    if (pid !== undefined) report(`${server.id}: stopped again (pid ${pid}): this start failed`);
  }
  if (failures.length === 1) throw failures[0];
  const errors = failures.map((failure) => (failure instanceof Error ? failure : new Error(String(failure))));
  throw new InfraError(
    errors.map((error) => error.message).join('\n'),
    errors.map((error) => (error instanceof InfraError ? error.fix : undefined)).filter(Boolean).join('\n'),
    errors.map((error) => (error instanceof InfraError ? error.details : undefined)).filter(Boolean).join('\n---\n'),
  );
}

/** Stops the local servers (external ones are left alone). Idempotent. */
export async function down(names?: readonly ServerName[], report: Report = console.log, options: InfraOptions = {}): Promise<void> {
  // Reverse order: the clients of Kafka stop before it does.
  for (const server of (await select(names, options)).reverse()) {
    if (isExternal(server)) continue;
    const pid = await stopServer(server);
    report(pid === undefined ? `${server.id}: not running` : `${server.id}: stopped (pid ${pid})`);
  }
}

/** Stops everything and deletes data, config and logs; downloaded servers stay cached. */
export async function reset(report: Report = console.log, options: InfraOptions = {}): Promise<void> {
  await down(undefined, report, options);
  for (const folder of ['data', 'config', 'logs', 'run', 'secure']) {
    await rm(`${localPaths.home}/${folder}`, { recursive: true, force: true });
  }
  report(`wiped ${localPaths.home}/{data,config,logs,secure} (downloads kept in ${localPaths.servers})`);
}

export interface ServerStatus {
  name: ServerName;
  /** The process: the server's name, or `kafka-2`, `kafka-3` for the other brokers of a cluster. */
  id: string;
  title: string;
  mode: 'local' | 'external';
  state: 'healthy' | 'unhealthy' | 'stopped';
  endpoint: string;
  pid?: number;
  residentBytes?: number;
}

export async function status(names?: readonly ServerName[], options: InfraOptions = {}): Promise<ServerStatus[]> {
  return Promise.all(
    (await select(names, options)).map(async (server): Promise<ServerStatus> => {
      const external = isExternal(server);
      const pid = external ? undefined : await runningPid(server.id, server.paths);
      const healthy = await server.isHealthy();
      const state = healthy ? 'healthy' : pid !== undefined || external ? 'unhealthy' : 'stopped';
      const residentBytes = pid === undefined ? undefined : await residentMemory(pid);
      return {
        name: server.name,
        id: server.id,
        title: server.title,
        mode: external ? 'external' : 'local',
        state,
        endpoint: server.endpoint,
        ...(pid !== undefined ? { pid } : {}),
        ...(residentBytes !== undefined ? { residentBytes } : {}),
      };
    }),
  );
}
