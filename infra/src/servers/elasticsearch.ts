import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chown, cp, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findJava } from '../java.ts';
import { fetchArchive } from '../maven.ts';
import { localPaths } from '../paths.ts';
import { InfraError } from '../errors.ts';
import { elasticsearchConfig, probeElasticsearch } from '@ecosystem/platform';
import { clientSettings, healthOf, heapOption, type LocalServer } from './server.ts';
import type { LaunchSpec } from '../processes.ts';

const run = promisify(execFile);

export const elasticsearchVersion = '8.19.21';
const httpPort = 9200;
const transportPort = 9300;
const distribution = `elasticsearch-${elasticsearchVersion}`;
const home = path.join(localPaths.servers, distribution);
const configDirectory = localPaths.config('elasticsearch');
const dataDirectory = localPaths.data('elasticsearch');
const logDirectory = path.join(localPaths.logs, 'elasticsearch');
const tmpDirectory = path.join(localPaths.data('elasticsearch'), 'tmp');

function settings(): string {
  return [
    '# Written by `npm run infra`; edits are overwritten on the next start.',
    'cluster.name: order-ecosystem-local',
    'node.name: local',
    'discovery.type: single-node',
    'network.host: 127.0.0.1',
    `http.port: ${httpPort}`,
    `transport.port: ${transportPort}`,
    `path.data: ${path.join(dataDirectory, 'nodes')}`,
    `path.logs: ${logDirectory}`,
    'xpack.security.enabled: false',
    // A laptop disk that is 90% full must not turn the local index read-only.
    'cluster.routing.allocation.disk.threshold_enabled: false',
    '',
  ].join('\n');
}

interface UnprivilegedUser {
  name: string;
  uid: number;
  gid: number;
}

async function unprivilegedUser(): Promise<UnprivilegedUser> {
  const name = process.env.INFRA_ELASTICSEARCH_USER ?? 'nobody';
  try {
    const uid = Number((await run('id', ['-u', name])).stdout.trim());
    const gid = Number((await run('id', ['-g', name])).stdout.trim());
    return { name, uid, gid };
  } catch {
    throw new InfraError(
      `Elasticsearch refuses to run as root and the user '${name}' to run it as does not exist.`,
      'Set INFRA_ELASTICSEARCH_USER to an unprivileged user, or run the launcher as a normal user.',
    );
  }
}

async function chownTree(directory: string, user: UnprivilegedUser): Promise<void> {
  await chown(directory, user.uid, user.gid);
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const child = path.join(directory, entry.name);
    if (entry.isDirectory()) await chownTree(child, user);
    else await chown(child, user.uid, user.gid);
  }
}

/** The server user must reach the distribution through every parent folder. */
async function assertReachable(user: UnprivilegedUser): Promise<void> {
  try {
    await run('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', 'test', '-r', path.join(home, 'lib')]);
  } catch {
    throw new InfraError(
      `Elasticsearch runs as the unprivileged user '${user.name}' (it refuses root), and that user cannot read ${home}.`,
      `Keep the local state in a folder every user can traverse: e.g. INFRA_HOME=/var/tmp/order-ecosystem npm run infra -- up`,
    );
  }
}

export function elasticsearchServer(): LocalServer {
  const endpoint = process.env.ELASTICSEARCH_URL ?? `http://127.0.0.1:${httpPort}`;
  return {
    name: 'elasticsearch',
    id: 'elasticsearch',
    paths: localPaths,
    title: `Elasticsearch ${elasticsearchVersion}`,
    externalVariable: 'ELASTICSEARCH_URL',
    endpoint,
    ports: [httpPort, transportPort],
    javaVersion: 17,
    startupTimeoutMs: 120_000,

    async fetch() {
      await fetchArchive(
        { groupId: 'org.elasticsearch.distribution.integ-test-zip', artifactId: 'elasticsearch', version: elasticsearchVersion, type: 'zip' },
        distribution,
        this.title,
        `Fetching Elasticsearch ${elasticsearchVersion} through Maven (first time only, ~105 MB)...`,
      );
    },

    async prepare(): Promise<LaunchSpec> {
      // The integ-test distribution bundles no JDK; it runs on the machine's Java 17+.
      const java = await findJava(this.javaVersion, this.title);
      for (const directory of [configDirectory, dataDirectory, logDirectory, tmpDirectory]) {
        await mkdir(directory, { recursive: true });
      }
      const hasConfig = await stat(path.join(configDirectory, 'jvm.options')).then(
        () => true,
        () => false,
      );
      if (!hasConfig) await cp(path.join(home, 'config'), configDirectory, { recursive: true });
      await writeFile(path.join(configDirectory, 'elasticsearch.yml'), settings());

      const environment: NodeJS.ProcessEnv = {
        ...process.env,
        ES_JAVA_HOME: java.home,
        ES_PATH_CONF: configDirectory,
        ES_TMPDIR: tmpDirectory,
        ES_JAVA_OPTS: heapOption('elasticsearch', '-Xms512m -Xmx512m'),
      };
      const launcher = path.join(home, 'bin', 'elasticsearch');
      const isRoot = process.getuid?.() === 0;
      if (!isRoot) return { command: launcher, args: [], cwd: dataDirectory, env: environment };

      const user = await unprivilegedUser();
      await assertReachable(user);
      // It writes its keystore into the config folder and everything else into data, logs and tmp.
      for (const directory of [configDirectory, dataDirectory, logDirectory]) await chownTree(directory, user);
      return {
        command: 'setpriv',
        args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', launcher],
        cwd: dataDirectory,
        env: { ...environment, HOME: tmpDirectory, USER: user.name },
      };
    },

    // As the services reach it: with ELASTICSEARCH_USERNAME/PASSWORD or ELASTICSEARCH_API_KEY and ELASTICSEARCH_CA_LOCATION when set.
    async isHealthy() {
      return healthOf(await probeElasticsearch({ ...clientSettings(elasticsearchConfig), ELASTICSEARCH_URL: endpoint }));
    },
  };
}
