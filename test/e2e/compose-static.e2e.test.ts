import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { httpServerConfig, infrastructureConfig, loadConfig, streamsConfig } from '@ecosystem/platform';
import { dashboardConfig } from '../../dashboard/src/config.ts';
import { emailConfig } from '../../email-service/src/config.ts';
import { fraudConfig } from '../../fraud-service/src/config.ts';
import { connectorFiles, readConnectorDefinition } from '../../infra/connectors/src/connect-configs.ts';
import { orderEnrichmentConfig } from '../../order-enrichment/src/config.ts';
import { ordersServiceConfig } from '../../orders-service/src/config.ts';
import { allServices } from '../../scripts/services.ts';
import { commandLineOf, environmentOf, portsOf, readComposeFile, volumesOf, type ComposeService } from '../compose/compose-file.ts';
import { environmentVariablesRead } from '../compose/environment-reads.ts';

/**
 * docker-compose.yml and the Dockerfile, checked without Docker against the code they run:
 * the services of scripts/services.ts, their ports, the variables their config reads, the files
 * they name, the start order. Renaming a variable in the code or adding a service to
 * scripts/services.ts without updating the compose file fails here.
 *
 * The Compose Specification's own JSON schema is not installed (no package in node_modules
 * ships it), so the file is held to the strict subset of compose-file.ts instead.
 */

const root = path.resolve(import.meta.dirname, '..', '..');
const { compose, problems } = readComposeFile(path.join(root, 'docker-compose.yml'));
const services = Object.entries(compose.services);
const serviceNamed = (name: string): ComposeService | undefined => compose.services[name];
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

/** The local workers that the real Connect worker replaces in the stack, with the config it runs instead. */
const replacedByConnect: Record<string, string> = {
  'customers-source': connectorFiles.customersSource,
  'orders-sink': connectorFiles.ordersSink,
};

/** The third-party containers and the port each listens on, published on the host as in the local mode. */
const infrastructurePorts: Record<string, number> = {
  kafka: 9092,
  'schema-registry': 8081,
  connect: 8083,
  'ksqldb-server': 8088,
  elasticsearch: 9200,
  kibana: 5601,
};

/** Each service's own config shape, so the values set in the compose file are checked as the service checks them. */
const configShapes: Record<string, z.ZodRawShape> = {
  'orders-service': ordersServiceConfig,
  'order-enrichment': orderEnrichmentConfig,
  'email-service': emailConfig,
  'fraud-service': fraudConfig,
  dashboard: dashboardConfig,
};

const builtServices = services.filter(([, service]) => service.build !== undefined);
const isOneShot = (service: ComposeService) => service.restart === 'no';
const isDefault = (service: ComposeService) => service.profiles === undefined;

/** `ENTRYPOINT ["scripts/run-service"]` of the Dockerfile. */
function imageEntrypoint(): string[] {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!line?.[1]) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  return JSON.parse(line[1]) as string[];
}

/** The TypeScript source a compiled file (`<package>/dist/x.js`) comes from. */
function sourceOf(compiled: string): string {
  return compiled.replace(/\bdist\//, compiled.startsWith('docker/') ? '' : 'src/').replace(/\.js$/, '.ts');
}

/** The service (or tool) `scripts/run-service <name>` runs, as its TypeScript source (as the script maps names to entry points). */
function runServiceSource(name: string): string {
  return name === 'customers-source' || name === 'orders-sink' ? `infra/connectors/src/${name}-main.ts` : `${name}/src/main.ts`;
}

/** What a container runs, as TypeScript sources: the service scripts/run-service starts, and every compiled file its command line names (also inside `sh -c` scripts). */
function scriptsOf(service: ComposeService): string[] {
  const words = commandLineOf(service, imageEntrypoint());
  const started = words[0] === 'scripts/run-service' && words[1] ? [runServiceSource(words[1])] : [];
  return [...started, ...words.flatMap((word) => (word.match(/[\w./-]+\/dist\/[\w./-]+\.js\b/g) ?? []).map(sourceOf))];
}

/** The name a service container gives scripts/run-service (the image's entry point). */
function entryOf(service: ComposeService): string | undefined {
  const words = commandLineOf(service, imageEntrypoint());
  return words[0] === 'scripts/run-service' ? words[1] : undefined;
}

/** The port a container listens on inside the network. */
function containerPort(name: string): number | undefined {
  return allServices.find((spec) => spec.name === name)?.port ?? infrastructurePorts[name];
}

/** Every `host:port` a built container is told to reach, from its environment and command line. */
function addressesOf(service: ComposeService): Array<{ where: string; host: string; port: number }> {
  const environment = environmentOf(service);
  const candidates = [
    ...Object.entries(environment).flatMap(([name, value]) => (name === 'KAFKA_BROKERS' ? value.split(',') : [value]).map((address) => ({ where: name, address }))),
    ...commandLineOf(service, imageEntrypoint()).map((address) => ({ where: 'command', address })),
  ];
  return candidates.flatMap(({ where, address }) => {
    const match = /^(?:https?:\/\/)?([a-z][a-z0-9-]*):(\d+)(?:\/.*)?$/.exec(address);
    return match?.[1] && match[2] ? [{ where, host: match[1], port: Number(match[2]) }] : [];
  });
}

describe('docker-compose.yml', () => {
  it('is a Compose file in the subset of the specification this project uses', () => {
    expect(problems).toEqual([]);
    expect(services.length).toBeGreaterThan(0);
  });

  it('runs every service of scripts/services.ts, or the Connect connector that replaces it', () => {
    for (const spec of allServices) {
      const connectorFile = replacedByConnect[spec.name];
      if (connectorFile) {
        // Both the local worker and the connector would stream the same records twice.
        expect(serviceNamed(spec.name), `${spec.name} is replaced by Connect and must not run by default`).toSatisfy((service?: ComposeService) => service === undefined || !isDefault(service));
        // register-connectors (the `connectors` one-shot below) registers every file of connectorFiles.
        expect(readConnectorDefinition(connectorFile).name, connectorFile).toBeTruthy();
        continue;
      }
      const service = serviceNamed(spec.name);
      expect(service, `${spec.name} (scripts/services.ts) is missing from docker-compose.yml`).toBeDefined();
      expect(service?.build, `${spec.name} is built from the Dockerfile`).toBeDefined();
      expect(service && entryOf(service), `${spec.name} runs through scripts/run-service`).toBe(spec.name);
      expect(service?.restart, `${spec.name} is restarted when it stops, like the local supervisor does`).toBe('unless-stopped');
    }
    // A long-running container of the image that scripts/services.ts does not know would run outside `npm start`.
    const unknown = builtServices.filter(([name, service]) => service.restart !== 'no' && !allServices.some((spec) => spec.name === name)).map(([name]) => name);
    expect(unknown).toEqual([]);
  });

  it('registers the connectors that replace the local workers, once Connect is healthy', () => {
    const registering = builtServices.filter(([, service]) => scriptsOf(service).includes('infra/connectors/src/register-connectors.ts'));
    expect(registering.map(([name]) => name)).toHaveLength(1);
    const [, registration] = registering[0]!;
    expect(isOneShot(registration)).toBe(true);
    const connectUrl = commandLineOf(registration, imageEntrypoint()).find((_word, index, words) => words[index - 1] === '--connect-url');
    const connect = connectUrl ? new URL(connectUrl).hostname : undefined;
    expect(connect && registration.depends_on?.[connect]?.condition).toBe('service_healthy');
  });

  it('publishes each port on 127.0.0.1 where the code listens, as in the local mode', () => {
    for (const spec of allServices.filter((candidate) => serviceNamed(candidate.name))) {
      const service = serviceNamed(spec.name)!;
      expect(environmentOf(service)['PORT'], `${spec.name}: PORT`).toBe(String(spec.port));
      expect(portsOf(service), `${spec.name}: ports`).toEqual([{ published: spec.port, target: spec.port }]);
    }
    for (const [name, port] of Object.entries(infrastructurePorts)) {
      const service = serviceNamed(name);
      expect(service, `${name} is part of the stack`).toBeDefined();
      const published = portsOf(service!).map((mapping) => mapping.published);
      expect(published, `${name} is published on its usual port`).toEqual([port]);
      if (name !== 'kafka') expect(portsOf(service!)[0]?.target, `${name}: container port`).toBe(port);
    }
    const hostPorts = services.flatMap(([, service]) => portsOf(service).map((mapping) => mapping.published));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('advertises Kafka to the containers and to the host at the addresses they use', () => {
    const kafka = environmentOf(serviceNamed('kafka')!);
    const listeners = new Map((kafka['KAFKA_LISTENERS'] ?? '').split(',').map((listener) => {
      const [name = '', address = ''] = listener.split('://');
      return [name, Number(address.split(':')[1])] as const;
    }));
    const advertised = (kafka['KAFKA_ADVERTISED_LISTENERS'] ?? '').split(',').map((listener) => {
      const [name = '', address = ''] = listener.split('://');
      return { name, address };
    });
    const brokers = new Set(builtServices.flatMap(([, service]) => (environmentOf(service)['KAFKA_BROKERS'] ?? '').split(',').filter(Boolean)));
    expect([...brokers].every((broker) => advertised.some((listener) => listener.address === broker)), `KAFKA_BROKERS ${[...brokers].join(',')} are advertised`).toBe(true);
    // The host's clients (npm run populate, read-topics) keep their default 127.0.0.1:9092.
    const host = advertised.find((listener) => listener.address === `127.0.0.1:${infrastructurePorts['kafka']}`);
    expect(host, 'a listener is advertised as 127.0.0.1:9092').toBeDefined();
    expect(portsOf(serviceNamed('kafka')!)).toEqual([{ published: infrastructurePorts['kafka'], target: listeners.get(host!.name) }]);
  });

  it('sets on each container only variables its code reads', () => {
    const unread: string[] = [];
    for (const [name, service] of builtServices) {
      // The container's own sources, plus the shared config loader and registry client.
      const folders = [...new Set(scriptsOf(service).map((script) => path.join(root, path.dirname(script))))];
      const read = environmentVariablesRead([...folders, path.join(root, 'platform', 'src'), path.join(root, 'avro', 'src')]);
      for (const variable of Object.keys(service.environment ?? {})) if (!read.has(variable)) unread.push(`${name}: ${variable}`);
    }
    expect(unread).toEqual([]);
  });

  it('lets every published service listen on all interfaces of its container, where the code listens on loopback by default', () => {
    const imageHost = /^ENV\s+HOST=(\S+)\s*$/m.exec(dockerfile)?.[1];
    for (const [name, service] of builtServices.filter(([, candidate]) => portsOf(candidate).length > 0)) {
      const shape = { ...infrastructureConfig, ...streamsConfig, ...httpServerConfig, ...configShapes[name] };
      expect(loadConfig(shape, {}).HOST, `${name}: HOST by default`).toBe('127.0.0.1');
      expect(loadConfig(shape, { ...(imageHost ? { HOST: imageHost } : {}), ...environmentOf(service) }).HOST, `${name}: HOST in its container`).toBe('0.0.0.0');
    }
  });

  it('gives each service values its config accepts', () => {
    for (const [name, service] of builtServices) {
      const shape = { ...infrastructureConfig, ...streamsConfig, ...configShapes[name] };
      expect(() => loadConfig(shape, environmentOf(service)), name).not.toThrow();
    }
  });

  it('points every address at a container of the stack, on the port it listens on', () => {
    const wrong = builtServices.flatMap(([name, service]) =>
      addressesOf(service)
        .filter(({ host, port }) => containerPort(host) !== port)
        .map(({ where, host, port }) => `${name} ${where}: ${host}:${port} (${serviceNamed(host) ? `listens on ${containerPort(host)}` : 'no such container'})`),
    );
    expect(wrong).toEqual([]);
    for (const [name, service] of builtServices) {
      const endpoint = environmentOf(service)['ADVERTISED_ENDPOINT'];
      if (endpoint) expect(endpoint, `${name}: ADVERTISED_ENDPOINT is its own address`).toBe(`${name}:${containerPort(name)}`);
    }
    expect(environmentOf(serviceNamed('orders-service')!)['ADVERTISED_ENDPOINT']).toBeDefined();
    expect(environmentOf(serviceNamed('order-enrichment')!)['KSQLDB_URL']).toBe(`http://ksqldb-server:${infrastructurePorts['ksqldb-server']}`);
  });

  it('gives Connect what the connector configs expect', () => {
    const connect = serviceNamed('connect')!;
    const environment = environmentOf(connect);
    expect(environment['CONNECT_EXACTLY_ONCE_SOURCE_SUPPORT']).toBe('enabled');
    const installs = commandLineOf(connect, []).join('\n');
    expect(installs).toMatch(/confluent-hub install --no-prompt confluentinc\/kafka-connect-jdbc:/);
    expect(installs).toMatch(/confluent-hub install --no-prompt confluentinc\/kafka-connect-elasticsearch:/);

    for (const file of Object.values(connectorFiles)) {
      const { name, config } = readConnectorDefinition(file);
      for (const setting of ['connection.url', 'value.converter.schema.registry.url']) {
        const value = config[setting] ?? '';
        if (value.startsWith('jdbc:')) continue;
        const url = new URL(value);
        expect(Number(url.port), `${name} ${setting} ${value}`).toBe(containerPort(url.hostname));
      }
    }

    // The JDBC source reads the SQLite file the seeding container wrote, through a shared volume.
    const database = readConnectorDefinition(connectorFiles.customersSource).config['connection.url']?.replace(/^jdbc:sqlite:/, '') ?? '';
    const connectMount = volumesOf(connect).find((mount) => mount.target === path.posix.dirname(database));
    expect(connectMount, `connect mounts a volume at ${path.posix.dirname(database)}`).toBeDefined();
    const seeding = builtServices.filter(([, service]) => scriptsOf(service).includes('infra/connectors/src/customers-cli.ts'));
    expect(seeding).toHaveLength(1);
    const [seedName, seed] = seeding[0]!;
    expect(commandLineOf(seed, imageEntrypoint()).at(-1)).toBe('seed');
    const seedFile = environmentOf(seed)['CUSTOMERS_DB'] ?? '';
    const seedMount = volumesOf(seed).find((mount) => seedFile.startsWith(`${mount.target}/`));
    expect(seedMount?.volume, `${seedName} writes ${seedFile} into the volume connect reads`).toBe(connectMount?.volume);
    expect(path.posix.relative(seedMount?.target ?? '', seedFile)).toBe(path.posix.relative(connectMount?.target ?? '', database));
    expect(connect.depends_on?.[seedName]?.condition).toBe('service_completed_successfully');
  });

  it('refers only to files and volumes that exist', () => {
    for (const [name, service] of services) {
      if (service.build) {
        expect(existsSync(path.join(root, service.build.context, service.build.dockerfile)), `${name}: build`).toBe(true);
        for (const script of scriptsOf(service)) expect(existsSync(path.join(root, script)), `${name} runs ${script}`).toBe(true);
      }
      for (const { volume } of volumesOf(service)) expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${volume} is declared`).toContain(volume);
    }
  });

  it('starts each container after what it needs, and only waits for what can report', () => {
    for (const [name, service] of services) {
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        const dependency = serviceNamed(target);
        expect(dependency, `${name} depends on ${target}, which does not exist`).toBeDefined();
        if (!dependency) continue;
        if (condition === 'service_healthy') expect(dependency.healthcheck, `${name} waits for ${target} to be healthy`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(isOneShot(dependency), `${name} waits for ${target} to complete`).toBe(true);
        // A service that always starts cannot wait for one behind a profile.
        if (isDefault(service)) expect(isDefault(dependency), `${name} depends on ${target}, which is behind a profile`).toBe(true);
      }
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, chain: string[]): void => {
      if (done.has(name)) return;
      expect(visiting.has(name), `dependency cycle: ${[...chain, name].join(' -> ')}`).toBe(false);
      visiting.add(name);
      for (const target of Object.keys(serviceNamed(name)?.depends_on ?? {})) visit(target, [...chain, name]);
      visiting.delete(name);
      done.add(name);
    };
    for (const [name] of services) visit(name, []);

    // Every service of the image starts after the topics and schemas exist.
    for (const spec of allServices.filter((candidate) => serviceNamed(candidate.name))) {
      expect(serviceNamed(spec.name)!.depends_on?.['setup']?.condition, spec.name).toBe('service_completed_successfully');
    }
  });

  it('checks the health of every long-running container', () => {
    for (const [name, service] of services) {
      // A one-shot exits when done: Docker must neither restart it nor wait for it to be healthy.
      if (isOneShot(service)) expect(service.healthcheck, `${name} runs once and has no health check`).toBeUndefined();
      else expect(service.healthcheck, `${name} has a health check`).toBeDefined();
    }
    for (const spec of allServices.filter((candidate) => serviceNamed(candidate.name))) {
      const test = serviceNamed(spec.name)!.healthcheck?.test;
      const command = Array.isArray(test) ? test.join(' ') : (test ?? '');
      expect(command, `${spec.name} is healthy when ready, on its PORT`).toMatch(/process\.env\.PORT.*\/ready/);
    }
  });
});

describe('Dockerfile', () => {
  const workspaces = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;

  it('builds one image, from the newest Node LTS (node:24-slim) in every stage, for every container of the system', () => {
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((match) => match[1]);
    expect(bases).toEqual(['node:24-slim', 'node:24-slim']);
    expect(new Set(builtServices.map(([, service]) => `${service.image} ${service.build?.context} ${service.build?.dockerfile}`)).size).toBe(1);
  });

  it('installs every workspace with npm ci, build tools in the build stage only', () => {
    const copied = [...dockerfile.matchAll(/^COPY\s+(\S+)\/package\.json\s/gm)].map((match) => match[1]);
    expect([...copied].sort(), 'the Dockerfile copies the package.json of every workspace before npm ci').toEqual([...workspaces].sort());
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]).toMatch(/python3 make g\+\+/);
    expect(stages.at(-1)).not.toMatch(/apt-get install/);
  });

  it('runs compiled JavaScript, with the production dependencies only (no TypeScript loader)', () => {
    expect(dockerfile).toMatch(/^RUN npm run build\b/m);
    expect(dockerfile).toMatch(/npm prune --omit=dev\b/);
    for (const [name, service] of builtServices) expect(commandLineOf(service, imageEntrypoint()).join(' '), name).not.toMatch(/\btsx\b|\.ts\b/);
  });

  it('runs as a non-root user and exposes the port of every service', () => {
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((match) => match[1]);
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const exposed = [...dockerfile.matchAll(/^EXPOSE\s+(.+)$/gm)].flatMap((match) => (match[1] ?? '').trim().split(/\s+/).map(Number));
    expect(exposed, 'EXPOSE lists the port of every service of scripts/services.ts').toEqual(expect.arrayContaining(allServices.map((spec) => spec.port)));
    expect(imageEntrypoint()).toEqual(['scripts/run-service']);
  });

  it('leaves node_modules and the local servers out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '.local']));
  });
});
