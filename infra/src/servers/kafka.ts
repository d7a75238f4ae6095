import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createKafka, createLogger, explainKafkaRefusal, kafkaConfig, type Environment } from '@ecosystem/platform';
import { securityFailure } from 'kstreams';
import { findJava, type JavaRuntime } from '../java.ts';
import { resolveClasspath } from '../maven.ts';
import { localPaths, mavenProjects, type InfraPaths } from '../paths.ts';
import { InfraError } from '../errors.ts';
import { clientEnvironment, ensureSecrets, formatStorage, readSecrets, secureListenerProperties, type KafkaSecrets } from './kafka-security.ts';
import { clientSettings, heapOption, type LocalServer } from './server.ts';

export const kafkaVersion = '4.2.2';
const classpathFile = path.join(localPaths.servers, `kafka-${kafkaVersion}.classpath`);

/** One node of a KRaft cluster: a broker and a controller in one process. */
export interface KafkaNodeAddress {
  id: number;
  brokerPort: number;
  controllerPort: number;
}

/**
 * Where the nodes of a cluster listen (all on loopback) and where they keep their files.
 * The local infrastructure's cluster lives in `.local`; a test's private cluster in a temp dir.
 */
export interface KafkaClusterLayout {
  nodes: KafkaNodeAddress[];
  paths: InfraPaths;
  /** JVM heap options of each node (default: INFRA_KAFKA_HEAP or 256-512 MB). */
  heap?: string;
  /**
   * Clients must come with TLS and SASL (SASL_SSL, SCRAM or PLAIN): a CA and certificates are
   * made in `<home>/secure/`, the client user is created when the storage is formatted.
   */
  secure?: boolean;
}

/** The local infrastructure's brokers: node n on 9092 + 2(n-1), its controller on the port after. */
export function loopbackLayout(brokers: number, paths: InfraPaths = localPaths, secure = false): KafkaClusterLayout {
  return { paths, secure, nodes: Array.from({ length: brokers }, (_, index) => ({ id: index + 1, brokerPort: 9092 + 2 * index, controllerPort: 9093 + 2 * index })) };
}

export function brokerAddress(node: KafkaNodeAddress): string {
  return `127.0.0.1:${node.brokerPort}`;
}

/** The broker list clients are given (KAFKA_BROKERS): every node, so any one of them can bootstrap. */
export function bootstrapServers(layout: KafkaClusterLayout): string {
  return layout.nodes.map(brokerAddress).join(',');
}

/** Node 1 keeps the single broker's names (`kafka`: pid file, log, data folder), so one and three brokers share them. */
export function kafkaProcessName(nodeId: number): string {
  return nodeId === 1 ? 'kafka' : `kafka-${nodeId}`;
}

/** Kafka's storage format wants a random 16-byte id in URL-safe base64 that does not start with '-'. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * What the data folders were formatted for, written when the first node is formatted: every
 * node of a cluster must be formatted with the same cluster id, and a data folder formatted
 * for one broker cannot join three (its metadata names a quorum of one).
 */
interface ClusterFormat {
  clusterId: string;
  brokers: number;
  /** Formatted for SASL_SSL clients (the client user's SCRAM credentials are in its metadata). */
  secure: boolean;
  /** The Kafka release that formatted it: an older release cannot read a newer one's metadata. */
  kafkaVersion: string;
}

/** The only release data was formatted with before the format file named one. */
const unnamedFormatVersion = '4.3.1';

function formatFile(paths: InfraPaths): string {
  return path.join(paths.home, 'data', 'kafka-cluster.properties');
}

/** The number of brokers the data folder was formatted for; undefined when nothing is formatted yet. */
export async function formattedBrokerCount(paths: InfraPaths = localPaths): Promise<number | undefined> {
  const format = await readFormat(paths);
  if (format) return format.brokers;
  // Formatted before the launcher wrote the file: that was always a single broker.
  return (await exists(path.join(paths.data('kafka'), 'meta.properties'))) ? 1 : undefined;
}

async function readFormat(paths: InfraPaths): Promise<ClusterFormat | undefined> {
  try {
    const text = await readFile(formatFile(paths), 'utf8');
    const clusterId = /^cluster\.id=(.+)$/m.exec(text)?.[1];
    const brokers = Number(/^brokers=(\d+)$/m.exec(text)?.[1]);
    const secure = /^security=SASL_SSL$/m.test(text);
    const formattedBy = /^kafka\.version=(.+)$/m.exec(text)?.[1] ?? unnamedFormatVersion;
    return clusterId && brokers > 0 ? { clusterId, brokers, secure, kafkaVersion: formattedBy } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the data folder was formatted for a secured cluster; undefined when nothing is formatted yet. */
export async function formattedSecure(paths: InfraPaths = localPaths): Promise<boolean | undefined> {
  const format = await readFormat(paths);
  if (format) return format.secure;
  return (await exists(path.join(paths.data('kafka'), 'meta.properties'))) ? false : undefined;
}

/** The error for a data folder formatted with the other security than asked for. */
export function securityMismatch(paths: InfraPaths, formattedSecure: boolean): InfraError {
  return new InfraError(
    `The Kafka data in ${path.join(paths.home, 'data')} was formatted ${formattedSecure ? 'for a secured broker (SASL_SSL)' : 'for a plaintext broker'}, not ${formattedSecure ? 'a plaintext one' : 'a secured one (--secure)'}.`,
    `Start it as it was${formattedSecure ? ' (--secure)' : ' (without --secure)'}, or run \`npm run infra -- reset\` (deletes all local data) to switch.`,
  );
}

/** The error for a data folder formatted for another number of brokers than asked for. */
export function brokerCountMismatch(paths: InfraPaths, formatted: number, wanted: number): InfraError {
  const brokers = (count: number) => (count === 1 ? 'a single broker' : `${count} brokers`);
  return new InfraError(
    `The Kafka data in ${path.join(paths.home, 'data')} was formatted for ${brokers(formatted)}, not ${wanted}.`,
    `Start it as it was (--brokers ${formatted}), or run \`npm run infra -- reset\` (deletes all local data) to switch to ${brokers(wanted)}.`,
  );
}

/** The error for data formatted by a newer Kafka than the project runs (it moved back a release). */
export function kafkaVersionMismatch(paths: InfraPaths, formattedBy: string): InfraError {
  return new InfraError(
    `The Kafka data in ${path.join(paths.home, 'data')} was written by Kafka ${formattedBy}; this project now runs Kafka ${kafkaVersion}, which cannot read a newer release's metadata.`,
    'Run `npm run infra -- reset` (deletes all local data); the next start formats it anew.',
  );
}

const formats = new WeakMap<KafkaClusterLayout, Promise<ClusterFormat>>();

/** The cluster id every node is formatted with; the nodes of a layout prepare side by side and share one. */
function clusterFormat(layout: KafkaClusterLayout): Promise<ClusterFormat> {
  let format = formats.get(layout);
  if (!format) {
    format = (async () => {
      const brokers = layout.nodes.length;
      const existing = await readFormat(layout.paths);
      const formattedFor = existing?.brokers ?? (await formattedBrokerCount(layout.paths));
      if (formattedFor !== undefined && formattedFor !== brokers) throw brokerCountMismatch(layout.paths, formattedFor, brokers);
      const secure = layout.secure ?? false;
      const formattedSecurity = existing?.secure ?? (formattedFor !== undefined ? false : undefined);
      if (formattedSecurity !== undefined && formattedSecurity !== secure) throw securityMismatch(layout.paths, formattedSecurity);
      const formattedBy = existing?.kafkaVersion ?? (formattedFor !== undefined ? unnamedFormatVersion : undefined);
      // Compared number by number (4.10 after 4.9).
      if (formattedBy !== undefined && formattedBy.localeCompare(kafkaVersion, 'en', { numeric: true }) > 0) throw kafkaVersionMismatch(layout.paths, formattedBy);
      if (existing) return existing;
      // Data formatted before this file existed keeps its id; otherwise the cluster is new.
      const legacy = await readFile(path.join(layout.paths.data('kafka'), 'meta.properties'), 'utf8').catch(() => '');
      const created = { clusterId: /^cluster\.id=(.+)$/m.exec(legacy)?.[1] ?? newClusterId(), brokers, secure, kafkaVersion: formattedBy ?? kafkaVersion };
      await mkdir(path.dirname(formatFile(layout.paths)), { recursive: true });
      await writeFile(
        formatFile(layout.paths),
        `# Written by \`npm run infra\` when the Kafka storage was formatted.\ncluster.id=${created.clusterId}\nbrokers=${brokers}\nkafka.version=${created.kafkaVersion}\n${secure ? 'security=SASL_SSL\n' : ''}`,
      );
      return created;
    })();
    formats.set(layout, format);
    // A failed check must be repeatable (after a reset), not cached.
    format.catch(() => formats.delete(layout));
  }
  return format;
}

const secretsOfLayout = new WeakMap<KafkaClusterLayout, Promise<KafkaSecrets>>();

/** The secrets of a secured cluster, made once for all its nodes (they prepare side by side). */
function clusterSecrets(layout: KafkaClusterLayout, java: JavaRuntime): Promise<KafkaSecrets> {
  let secrets = secretsOfLayout.get(layout);
  if (!secrets) {
    secrets = ensureSecrets(layout.paths, java);
    secretsOfLayout.set(layout, secrets);
    secrets.catch(() => secretsOfLayout.delete(layout));
  }
  return secrets;
}

function listenerProperties(node: KafkaNodeAddress, secrets: KafkaSecrets | undefined): string[] {
  if (secrets) return secureListenerProperties(secrets, node.brokerPort, node.controllerPort);
  return [
    `listeners=PLAINTEXT://127.0.0.1:${node.brokerPort},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
  ];
}

function serverProperties(layout: KafkaClusterLayout, node: KafkaNodeAddress, dataDirectory: string, secrets: KafkaSecrets | undefined): string {
  const brokers = layout.nodes.length;
  // Three copies of everything, and a write needs two of them: one broker may die with nothing lost.
  const replicationFactor = Math.min(3, brokers);
  const minInSync = brokers >= 3 ? 2 : 1;
  return [
    '# Written by `npm run infra`; edits are overwritten on the next start.',
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${layout.nodes.map((voter) => `${voter.id}@127.0.0.1:${voter.controllerPort}`).join(',')}`,
    ...listenerProperties(node, secrets),
    `log.dirs=${dataDirectory}`,
    'num.partitions=3',
    // Topics are created by the project's declarative topic list, never by accident.
    'auto.create.topics.enable=false',
    `default.replication.factor=${replicationFactor}`,
    `min.insync.replicas=${minInSync}`,
    `offsets.topic.replication.factor=${replicationFactor}`,
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${replicationFactor}`,
    `transaction.state.log.min.isr=${minInSync}`,
    'transaction.state.log.num.partitions=10',
    `share.coordinator.state.topic.replication.factor=${replicationFactor}`,
    `share.coordinator.state.topic.min.isr=${minInSync}`,
    // Nobody to wait for before the first rebalance: the services start together anyway.
    'group.initial.rebalance.delay.ms=0',
    'log.cleaner.dedupe.buffer.size=16777216',
    '',
  ].join('\n');
}

const log4jConfiguration = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by \`npm run infra\`: the broker logs to stdout, which the launcher appends to its log file. -->
<Configuration status="warn">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="warn"/>
    <Logger name="state.change.logger" level="warn"/>
    <Logger name="org.apache.kafka.controller" level="warn"/>
    <Logger name="kafka.log.LogCleaner" level="warn"/>
    <Root level="info"><AppenderRef ref="stdout"/></Root>
  </Loggers>
</Configuration>
`;

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Fetches the broker's classpath through Maven (first time only). */
export async function fetchKafka(): Promise<void> {
  if (await exists(classpathFile)) return;
  console.log(`Fetching Apache Kafka ${kafkaVersion} and its dependencies through Maven (first time only, ~55 MB)...`);
  await resolveClasspath(mavenProjects.kafka, classpathFile, `Apache Kafka ${kafkaVersion}`);
}

const javaVersion = 17;
const title = `Apache Kafka ${kafkaVersion} (KRaft)`;

/**
 * The servers of the local infrastructure's Kafka: one per node of a `brokers`-node cluster
 * on loopback (secured: SASL_SSL only), or a single external one when KAFKA_BROKERS points
 * elsewhere, probed with the client settings of the environment (KAFKA_SECURITY_PROTOCOL...).
 */
export function kafkaServers(brokers: number, secure = false): LocalServer[] {
  const external = process.env.KAFKA_BROKERS;
  if (external) return [{ ...kafkaNode(loopbackLayout(1), 1), endpoint: external, isHealthy: () => clusterAnswers(external.split(','), undefined, process.env, true) }];
  const layout = loopbackLayout(brokers, localPaths, secure);
  return layout.nodes.map((node) => kafkaNode(layout, node.id));
}

/**
 * What clients of a local cluster need besides KAFKA_BROKERS: nothing for a plaintext one; the
 * SASL_SSL settings (user, password, CA file) of a secured one, once its secrets exist.
 */
export async function clusterClientEnvironment(layout: Pick<KafkaClusterLayout, 'paths' | 'secure'>): Promise<Record<string, string>> {
  if (!layout.secure) return {};
  const secrets = await readSecrets(layout.paths);
  if (!secrets) throw new InfraError(`The secured Kafka in ${layout.paths.home} has no secrets yet: it was never started.`, 'Start it first (`npm run infra -- up --secure`).');
  return clientEnvironment(secrets);
}

/** One node of a cluster (broker and controller), run by the launcher or by a test's private cluster. */
export function kafkaNode(layout: KafkaClusterLayout, nodeId: number): LocalServer {
  const node = layout.nodes.find((candidate) => candidate.id === nodeId);
  if (!node) throw new Error(`the cluster has no node ${nodeId}`);
  const id = kafkaProcessName(nodeId);
  const configDirectory = layout.paths.config(id);
  const dataDirectory = layout.paths.data(id);
  return {
    name: 'kafka',
    id,
    paths: layout.paths,
    title: layout.nodes.length === 1 ? title : `${title} node ${nodeId} of ${layout.nodes.length}`,
    externalVariable: 'KAFKA_BROKERS',
    endpoint: brokerAddress(node),
    ports: [node.brokerPort, node.controllerPort],
    javaVersion,
    startupTimeoutMs: 90_000,
    fetch: fetchKafka,

    async prepare() {
      const java = await findJava(javaVersion, title);
      const classpath = (await readFile(classpathFile, 'utf8')).trim();
      const format = await clusterFormat(layout);
      await mkdir(configDirectory, { recursive: true });
      await mkdir(dataDirectory, { recursive: true });
      const properties = path.join(configDirectory, 'server.properties');
      const log4j = path.join(configDirectory, 'log4j2.xml');
      const secrets = layout.secure ? await clusterSecrets(layout, java) : undefined;
      // A secured node's properties hold passwords: readable by their owner only.
      await writeFile(properties, serverProperties(layout, node, dataDirectory, secrets), { mode: 0o600 });
      await writeFile(log4j, log4jConfiguration);
      const jvm = [`-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath];

      // A secured cluster's client user gets its SCRAM credentials in the metadata from the start.
      if (!(await exists(path.join(dataDirectory, 'meta.properties')))) await formatStorage({ java, jvmOptions: jvm, clusterId: format.clusterId, properties, secrets });
      return {
        command: java.executable,
        args: [...(layout.heap ?? heapOption('kafka', '-Xms256m -Xmx512m')).split(/\s+/), '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', ...jvm, 'kafka.Kafka', properties],
        cwd: dataDirectory,
      };
    },

    // Healthy: this node answers, is a registered (unfenced) broker, and the cluster has a controller.
    // A secured node is probed as its clients reach it (SASL_SSL); a refusal while it starts is only "not yet".
    isHealthy: async () => clusterAnswers([brokerAddress(node)], nodeId, await clusterClientEnvironment(layout).catch(() => ({})), false),
  };
}

const quiet = createLogger('infra', 'silent');

/**
 * One metadata request, no retries: a health probe must answer at once (a stopped broker is
 * "not healthy" now, not after a client's retry schedule). The client comes from the project's
 * one factory, with the client settings of `environment` (TLS, SASL) read by the one
 * configuration loader. With `strict` (a user's settings for an external cluster), settings
 * the broker refuses (a wrong password) are not "unhealthy": they are an error at once, naming
 * the setting.
 */
async function clusterAnswers(brokers: string[], nodeId: number | undefined, environment: Environment, strict: boolean): Promise<boolean> {
  const config = clientSettings(kafkaConfig, { ...environment, KAFKA_BROKERS: brokers.join(',') });
  const kafka = createKafka({ clientId: 'infra-health', config, logger: quiet, tuning: { retries: 0, connectTimeoutMs: 1_000, requestTimeoutMs: 2_000 } });
  try {
    const cluster = await kafka.admin().metadata({ topics: [] });
    const registered = nodeId === undefined ? cluster.brokers.size > 0 : cluster.brokers.has(nodeId);
    return registered && cluster.controllerId >= 0;
  } catch (error) {
    const refused = securityFailure(error, kafka.options.security, brokers);
    if (refused && strict) throw new InfraError(explainKafkaRefusal(refused, config), 'Fix the KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* or KAFKA_SSL_* setting named above.');
    return false;
  } finally {
    await kafka.close().catch(() => undefined);
  }
}
