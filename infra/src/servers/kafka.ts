import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { findJava } from '../java.ts';
import { resolveClasspath } from '../maven.ts';
import { localPaths, mavenProjects } from '../paths.ts';
import { InfraError } from '../errors.ts';
import { heapOption, type LocalServer } from './server.ts';

const run = promisify(execFile);

export const kafkaVersion = '4.3.1';
const brokerPort = 9092;
const controllerPort = 9093;
const classpathFile = path.join(localPaths.servers, `kafka-${kafkaVersion}.classpath`);
const configDirectory = localPaths.config('kafka');
const dataDirectory = localPaths.data('kafka');

/** Kafka's storage format wants a random 16-byte id in URL-safe base64 that does not start with '-'. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(): string {
  return [
    '# Written by `npm run infra`; edits are overwritten on the next start.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDirectory}`,
    'num.partitions=3',
    // Topics are created by the project's declarative topic list, never by accident.
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=10',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // A single-node cluster has nobody else to wait for before the first rebalance.
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

export function kafkaServer(): LocalServer {
  const endpoint = process.env.KAFKA_BROKERS ?? `127.0.0.1:${brokerPort}`;
  return {
    name: 'kafka',
    title: `Apache Kafka ${kafkaVersion} (KRaft)`,
    externalVariable: 'KAFKA_BROKERS',
    endpoint,
    ports: [brokerPort, controllerPort],
    javaVersion: 17,
    startupTimeoutMs: 90_000,

    async fetch() {
      if (await exists(classpathFile)) return;
      console.log(`Fetching Apache Kafka ${kafkaVersion} and its dependencies through Maven (first time only, ~55 MB)...`);
      await resolveClasspath(mavenProjects.kafka, classpathFile, `Apache Kafka ${kafkaVersion}`);
    },

    async prepare() {
      const java = await findJava(this.javaVersion, this.title);
      const classpath = (await readFile(classpathFile, 'utf8')).trim();
      await mkdir(configDirectory, { recursive: true });
      await mkdir(dataDirectory, { recursive: true });
      const properties = path.join(configDirectory, 'server.properties');
      const log4j = path.join(configDirectory, 'log4j2.xml');
      await writeFile(properties, serverProperties());
      await writeFile(log4j, log4jConfiguration);
      const jvm = [`-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath];

      if (!(await exists(path.join(dataDirectory, 'meta.properties')))) {
        try {
          await run(java.executable, [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', properties], {
            timeout: 60_000,
          });
        } catch (error) {
          const output = (error as { stdout?: string; stderr?: string });
          throw new InfraError('Formatting the Kafka storage failed.', 'Run `npm run infra -- reset` and start again.', `${output.stdout ?? ''}${output.stderr ?? ''}`);
        }
      }
      return {
        command: java.executable,
        args: [
          ...heapOption('kafka', '-Xms256m -Xmx512m').split(/\s+/),
          '-XX:+UseG1GC',
          '-XX:MaxGCPauseMillis=20',
          '-Djava.awt.headless=true',
          ...jvm,
          'kafka.Kafka',
          properties,
        ],
        cwd: dataDirectory,
      };
    },

    async isHealthy() {
      const kafka = new Kafka({
        clientId: 'infra-health',
        brokers: endpoint.split(','),
        connectionTimeout: 1_000,
        requestTimeout: 2_000,
        retry: { retries: 0 },
        logLevel: logLevel.NOTHING,
      });
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } catch {
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}
