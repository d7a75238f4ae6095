import { rm } from 'node:fs/promises';
import { InfraError } from './errors.ts';
import { localPaths } from './paths.ts';
import { launch, likelyFix, logTail, portInUse, residentMemory, runningPid, sleep, stop } from './processes.ts';
import { elasticsearchServer } from './servers/elasticsearch.ts';
import { kafkaServer } from './servers/kafka.ts';
import { registryServer } from './servers/registry.ts';
import { isExternal, type LocalServer, type ServerName } from './servers/server.ts';

export type { ServerName };

/** The servers in start order; they are independent, so they start side by side. */
export function allServers(): LocalServer[] {
  return [kafkaServer(), registryServer(), elasticsearchServer()];
}

function select(names: readonly ServerName[] | undefined): LocalServer[] {
  const servers = allServers();
  return names && names.length > 0 ? servers.filter((server) => names.includes(server.name)) : servers;
}

export type Report = (line: string) => void;

/** Downloads and unpacks every local server that is not external. */
export async function fetchServers(names?: readonly ServerName[]): Promise<void> {
  for (const server of select(names)) if (!isExternal(server)) await server.fetch();
}

async function waitHealthy(server: LocalServer, pid: number | undefined): Promise<void> {
  const deadline = Date.now() + server.startupTimeoutMs;
  while (Date.now() < deadline) {
    if (await server.isHealthy()) return;
    if (pid !== undefined && (await runningPid(server.name)) === undefined) {
      const tail = await logTail(server.name);
      throw new InfraError(
        `${server.title} exited during startup (log: ${localPaths.log(server.name)}).`,
        likelyFix(tail) ?? `Read the log above; \`npm run infra -- reset\` starts from empty data.`,
        tail,
      );
    }
    await sleep(500);
  }
  const tail = pid === undefined ? '' : await logTail(server.name);
  throw new InfraError(
    isExternal(server)
      ? `${server.title} at ${server.endpoint} (from ${server.externalVariable}) is not answering.`
      : `${server.title} did not become healthy within ${server.startupTimeoutMs / 1000} s.`,
    isExternal(server)
      ? `Start that server, or unset ${server.externalVariable} to let the launcher run a local one.`
      : (likelyFix(tail) ?? 'Read the log tail above; a slow first start may need more time on a busy machine.'),
    tail || undefined,
  );
}

async function startOne(server: LocalServer, report: Report): Promise<void> {
  if (isExternal(server)) {
    await waitHealthy(server, undefined);
    report(`${server.name}: external at ${server.endpoint} (${server.externalVariable}), healthy`);
    return;
  }
  const existing = await runningPid(server.name);
  if (existing !== undefined) {
    await waitHealthy(server, existing);
    report(`${server.name}: already running (pid ${existing}) at ${server.endpoint}`);
    return;
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
  const pid = await launch(server.name, await server.prepare());
  await waitHealthy(server, pid);
  report(`${server.name}: started (pid ${pid}) at ${server.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Brings the infrastructure up and waits until every server is healthy. Idempotent: servers
 * already running are only checked. Every failure is collected so one broken server does
 * not hide another.
 */
export async function up(names?: readonly ServerName[], report: Report = console.log): Promise<void> {
  const servers = select(names);
  await fetchServers(servers.map((server) => server.name));
  const results = await Promise.allSettled(servers.map((server) => startOne(server, report)));
  const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    const errors = failures.map((failure) => (failure instanceof Error ? failure : new Error(String(failure))));
    throw new InfraError(
      errors.map((error) => error.message).join('\n'),
      errors.map((error) => (error instanceof InfraError ? error.fix : undefined)).filter(Boolean).join('\n'),
      errors.map((error) => (error instanceof InfraError ? error.details : undefined)).filter(Boolean).join('\n---\n'),
    );
  }
}

/** Stops the local servers (external ones are left alone). Idempotent. */
export async function down(names?: readonly ServerName[], report: Report = console.log): Promise<void> {
  // Reverse order: the clients of Kafka stop before it does.
  for (const server of select(names).reverse()) {
    if (isExternal(server)) continue;
    const pid = await runningPid(server.name);
    if (pid === undefined) {
      report(`${server.name}: not running`);
      continue;
    }
    await stop(server.name, pid);
    report(`${server.name}: stopped (pid ${pid})`);
  }
}

/** Stops everything and deletes data, config and logs; downloaded servers stay cached. */
export async function reset(report: Report = console.log): Promise<void> {
  await down(undefined, report);
  for (const folder of ['data', 'config', 'logs', 'run']) {
    await rm(`${localPaths.home}/${folder}`, { recursive: true, force: true });
  }
  report(`wiped ${localPaths.home}/{data,config,logs} (downloads kept in ${localPaths.servers})`);
}

export interface ServerStatus {
  name: ServerName;
  title: string;
  mode: 'local' | 'external';
  state: 'healthy' | 'unhealthy' | 'stopped';
  endpoint: string;
  pid?: number;
  residentBytes?: number;
}

export async function status(names?: readonly ServerName[]): Promise<ServerStatus[]> {
  return Promise.all(
    select(names).map(async (server): Promise<ServerStatus> => {
      const external = isExternal(server);
      const pid = external ? undefined : await runningPid(server.name);
      const healthy = await server.isHealthy();
      const state = healthy ? 'healthy' : pid !== undefined || external ? 'unhealthy' : 'stopped';
      const residentBytes = pid === undefined ? undefined : await residentMemory(pid);
      return {
        name: server.name,
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
