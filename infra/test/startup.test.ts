import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfraError } from '../src/errors.ts';
import { startServers, startupLimitMs } from '../src/launcher.ts';
import { DownloadProgress } from '../src/maven.ts';
import { infraPaths } from '../src/paths.ts';
import { likelyFix, runningPid, startupCause } from '../src/processes.ts';
import type { LocalServer } from '../src/servers/server.ts';

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** A "server" that is a shell command, healthy or not, in a folder of its own: the launcher's real process handling without a real server. */
async function fakeServer(id: string, script: string, healthy: boolean, startupTimeoutMs = 1_500): Promise<LocalServer> {
  const home = await mkdtemp(path.join(os.tmpdir(), `startup-${id}-`));
  folders.push(home);
  return {
    name: 'registry',
    id,
    paths: infraPaths(home),
    title: `Fake ${id}`,
    externalVariable: `FAKE_${id.toUpperCase()}_URL`,
    endpoint: 'fake',
    ports: [],
    javaVersion: 17,
    startupTimeoutMs,
    fetch: async () => {},
    prepare: async () => ({ command: 'sh', args: ['-c', script], cwd: home }),
    isHealthy: async () => healthy,
  };
}

describe('startup causes and fixes', () => {
  const elasticsearchWarning = '[2026-01-01T00:00:00,000][WARN ][o.e.b.BootstrapChecks    ] [local] max virtual memory areas vm.max_map_count [65530] is too low, increase to at least [262144]';

  it('does not blame a warning: vm.max_map_count only when the bootstrap checks failed', () => {
    expect(likelyFix(elasticsearchWarning)).toBeUndefined();
    expect(startupCause(elasticsearchWarning)).toBeUndefined();
    const failed = 'ERROR: [1] bootstrap checks failed. You must address the points described in the following [1] lines before starting Elasticsearch.\nbootstrap check failure [1] of [1]: max virtual memory areas vm.max_map_count [65530] is too low';
    expect(likelyFix(failed)).toMatch(/vm\.max_map_count/);
    expect(startupCause(failed)).toMatch(/^bootstrap check failure \[1\] of \[1\]: max virtual memory areas/);
  });

  it('names the deepest cause of the last exception, else the last error line', () => {
    const log = [
      '[2026-01-01 00:00:00,000] INFO starting (kafka.Kafka)',
      '[2026-01-01 00:00:01,000] ERROR Exiting Kafka due to fatal exception during startup. (kafka.Kafka)',
      'org.apache.kafka.common.KafkaException: Socket server failed to bind',
      'Caused by: java.net.BindException: Address already in use',
    ].join('\n');
    expect(startupCause(log)).toBe('Caused by: java.net.BindException: Address already in use');
    expect(startupCause('INFO a\nERROR b failed\nINFO c')).toBe('ERROR b failed');
  });

  it('stretches the health wait on a busy machine, up to three times, unless INFRA_STARTUP_TIMEOUT says', () => {
    const server = { startupTimeoutMs: 120_000 };
    expect(startupLimitMs(server, {}, 0.5, 2)).toBe(120_000);
    expect(startupLimitMs(server, {}, 4, 2)).toBe(240_000);
    expect(startupLimitMs(server, {}, 20, 2)).toBe(360_000);
    expect(startupLimitMs(server, { INFRA_STARTUP_TIMEOUT: '600' }, 20, 2)).toBe(600_000);
  });

  it('shows Maven\'s downloads as one progress line', () => {
    const progress = new DownloadProgress();
    expect(progress.add('[INFO] Downloading from central: https://repo.maven.apache.org/maven2/a/b.jar')).toBe(false);
    expect(progress.add('[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/a/b.jar (1.5 MB at 3.1 MB/s)')).toBe(true);
    expect(progress.add('[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/a/c.pom (830 kB at 2 MB/s)')).toBe(true);
    expect(progress.describe('Apache Kafka', 2.25)).toBe('Apache Kafka: downloaded 2 files, 2.3 MB in 2.3 s');
    expect(new DownloadProgress().describe('Apache Kafka', 1)).toMatch(/nothing to download/);
  });
});

describe('starting servers', () => {
  it('stops what it launched when another server fails, and names the failure with its cause', async () => {
    const good = await fakeServer('good', 'exec sleep 600', true);
    const broken = await fakeServer('broken', 'echo "[main] ERROR Exiting: the data folder is locked"; exec sleep 600', false);
    const lines: string[] = [];
    const failure = await startServers([good, broken], (line) => lines.push(line)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InfraError);
    expect((failure as InfraError).message).toMatch(/^Fake broken did not become healthy within \d+ s, and its log has been quiet for \d+ s/);
    expect((failure as InfraError).message).toContain('cause (from its log): [main] ERROR Exiting: the data folder is locked');
    expect(lines.some((line) => /^good: started \(pid \d+\) at fake in [\d.]+ s$/.test(line))).toBe(true);
    expect(lines.some((line) => /^good: stopped again \(pid \d+\): this start failed$/.test(line))).toBe(true);
    expect(lines.some((line) => /^broken: stopped again/.test(line))).toBe(true);
    expect(await runningPid('good', good.paths)).toBeUndefined();
    expect(await runningPid('broken', broken.paths)).toBeUndefined();
  }, 30_000);

  it('waits longer for a server whose log still moves (slow, not stuck), and says so', async () => {
    const slow = await fakeServer('slow', 'while true; do echo "INFO still loading"; sleep 0.2; done', false, 1_000);
    const lines: string[] = [];
    const started = Date.now();
    // One second exactly, however busy the machine is (a busy one would stretch the limit).
    process.env.INFRA_STARTUP_TIMEOUT = '1';
    const failure = await startServers([slow], (line) => lines.push(line))
      .catch((error: unknown) => error)
      .finally(() => delete process.env.INFRA_STARTUP_TIMEOUT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
    expect((failure as InfraError).message).toMatch(/^Fake slow was still starting after \d+ s \(its log kept moving: slow, not stuck\)\.$/);
    expect((failure as InfraError).fix).toMatch(/INFRA_STARTUP_TIMEOUT/);
    expect(lines).toContain('slow: slow, but its log is moving: waiting up to 2 s more');
    expect(lines.some((line) => /^slow: still starting after \d+ s \(its log is moving\)$/.test(line))).toBe(true);
    expect(await runningPid('slow', slow.paths)).toBeUndefined();
  }, 30_000);

  it('fails at once for a server that exits during startup', async () => {
    const exits = await fakeServer('exits', 'echo "Error: Could not find or load main class kafka.Kafka"; exit 1', false, 60_000);
    const started = Date.now();
    const failure = await startServers([exits], () => {}).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((failure as InfraError).message).toMatch(/^Fake exits exited during startup, after \d+ s/);
    expect((failure as InfraError).message).toContain('cause (from its log): Error: Could not find or load main class kafka.Kafka');
  }, 30_000);
});
