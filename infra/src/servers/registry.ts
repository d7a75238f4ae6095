import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { findJava } from '../java.ts';
import { fetchArchive } from '../maven.ts';
import { localPaths } from '../paths.ts';
import { probeSchemaRegistry, schemaRegistryConfig } from '@ecosystem/platform';
import { clientSettings, healthOf, heapOption, type LocalServer } from './server.ts';

export const registryVersion = '3.3.3';
const apiPort = 8081;
const managementPort = 8091;
const distribution = `apicurio-registry-${registryVersion}`;
const dataDirectory = localPaths.data('registry');

/**
 * Apicurio Registry, serving the Confluent-compatible API (ccompat) that our clients use.
 * Its storage is an H2 file under `.local/data/registry`, so schema ids survive a restart
 * (the in-memory default would forget them, and every Avro record on Kafka names one).
 */
export function registryServer(): LocalServer {
  const endpoint = process.env.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${apiPort}/apis/ccompat/v7`;
  return {
    name: 'registry',
    id: 'registry',
    paths: localPaths,
    title: `Apicurio Registry ${registryVersion}`,
    externalVariable: 'SCHEMA_REGISTRY_URL',
    endpoint,
    ports: [apiPort, managementPort],
    javaVersion: 21,
    startupTimeoutMs: 90_000,

    async fetch() {
      await fetchArchive(
        { groupId: 'io.apicurio', artifactId: 'apicurio-registry-app', version: registryVersion, type: 'tar.gz', classifier: 'all' },
        distribution,
        this.title,
        `Fetching Apicurio Registry ${registryVersion} through Maven (first time only, ~160 MB)...`,
      );
    },

    async prepare() {
      const java = await findJava(this.javaVersion, this.title);
      await mkdir(dataDirectory, { recursive: true });
      return {
        command: java.executable,
        args: [
          ...heapOption('registry', '-Xms64m -Xmx256m').split(/\s+/),
          '-XX:+UseSerialGC',
          `-Dquarkus.http.host=127.0.0.1`,
          `-Dquarkus.http.port=${apiPort}`,
          `-Dquarkus.management.host=127.0.0.1`,
          `-Dquarkus.management.port=${managementPort}`,
          '-jar',
          path.join(localPaths.servers, distribution, 'quarkus-run.jar'),
        ],
        cwd: dataDirectory,
        env: {
          ...process.env,
          APICURIO_STORAGE_KIND: 'sql',
          APICURIO_DATASOURCE_URL: `jdbc:h2:file:${path.join(dataDirectory, 'registry')}`,
        },
      };
    },

    // As the services reach it: with SCHEMA_REGISTRY_USERNAME/PASSWORD and SCHEMA_REGISTRY_CA_LOCATION when set.
    async isHealthy() {
      return healthOf(await probeSchemaRegistry({ ...clientSettings(schemaRegistryConfig), SCHEMA_REGISTRY_URL: endpoint }));
    },
  };
}
