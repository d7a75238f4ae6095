import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createKafka, createLogger, kafkaConfig, loadConfig, type KafkaClients } from '@ecosystem/platform';
import { startServer, stopServer } from './launcher.ts';
import { infraPaths, type InfraPaths } from './paths.ts';
import { runningPid } from './processes.ts';
import { bootstrapServers, brokerAddress, clusterClientEnvironment, fetchKafka, kafkaNode, type KafkaClusterLayout } from './servers/kafka.ts';
import type { LocalServer } from './servers/server.ts';

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port nobody listens on now, for a test's servers. Chosen below Linux's ephemeral
 * range (32768 and up): a port the kernel hands out for listening on port 0 can meanwhile be
 * taken as the local end of one of the many outgoing connections of brokers and clients, and
 * the server meant to listen there would fail to start.
 */
export async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
}

export interface KafkaClusterOptions {
  /** 1, or 3 (replication factor 3, min.insync.replicas 2). */
  brokers?: number;
  /** Where the cluster keeps its data, config, logs and pid files (default: a new temp dir, deleted by `destroy`). */
  home?: string;
  /** JVM heap of each node (default: small, for tests). */
  heap?: string;
  /** Clients over SASL_SSL only (a CA of its own, SCRAM and PLAIN users); `environment` has their settings. */
  secure?: boolean;
}

/**
 * A Kafka cluster of its own on free loopback ports, run with the launcher's server code, for
 * tests that stop, crash and restart brokers: the shared broker on 9092 never notices.
 * The nodes are separate processes (in their own process groups), so the test can SIGTERM
 * or SIGKILL one and start it again on its data.
 */
export class KafkaCluster {
  private readonly nodes: Map<number, LocalServer>;
  private clientSettings: Record<string, string> = {};

  private constructor(
    readonly layout: KafkaClusterLayout,
    private readonly ownsHome: boolean,
  ) {
    // Its own nodes, even when KAFKA_BROKERS points the project at another Kafka.
    this.nodes = new Map(layout.nodes.map((node) => [node.id, { ...kafkaNode(layout, node.id), neverExternal: true }]));
  }

  /** Formats and starts the nodes, and waits until all are healthy. */
  static async start(options: KafkaClusterOptions = {}): Promise<KafkaCluster> {
    const brokers = options.brokers ?? 1;
    const home = options.home ?? (await mkdtemp(path.join(os.tmpdir(), 'kafka-cluster-')));
    const paths: InfraPaths = infraPaths(home);
    const ports: number[] = [];
    while (ports.length < brokers * 2) {
      const port = await freeLoopbackPort();
      if (!ports.includes(port)) ports.push(port);
    }
    const layout: KafkaClusterLayout = {
      paths,
      heap: options.heap ?? '-Xms128m -Xmx384m',
      secure: options.secure ?? false,
      nodes: Array.from({ length: brokers }, (_, index) => ({ id: index + 1, brokerPort: ports[2 * index]!, controllerPort: ports[2 * index + 1]! })),
    };
    const cluster = new KafkaCluster(layout, options.home === undefined);
    await fetchKafka();
    try {
      // Together: no node is healthy before a quorum of controllers runs.
      await Promise.all(layout.nodes.map((node) => cluster.startBroker(node.id)));
      cluster.clientSettings = await clusterClientEnvironment(layout);
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** KAFKA_BROKERS for clients of this cluster: every node. */
  get bootstrap(): string {
    return bootstrapServers(this.layout);
  }

  get brokers(): string[] {
    return this.layout.nodes.map(brokerAddress);
  }

  /**
   * The environment a client of this cluster needs, as the project's processes read it:
   * KAFKA_BROKERS, and for a secured cluster KAFKA_SECURITY_PROTOCOL=SASL_SSL, the SASL
   * mechanism, user and password and the CA file (KAFKA_SSL_CA_LOCATION).
   */
  get environment(): Record<string, string> {
    return { KAFKA_BROKERS: this.bootstrap, ...this.clientSettings };
  }

  get nodeIds(): number[] {
    return this.layout.nodes.map((node) => node.id);
  }

  private node(nodeId: number): LocalServer {
    const node = this.nodes.get(nodeId);
    if (!node) throw new Error(`the cluster has no node ${nodeId}`);
    return node;
  }

  /** Starts a node (again, on its data) and waits until it is a registered broker. */
  async startBroker(nodeId: number): Promise<void> {
    await startServer(this.node(nodeId), () => undefined);
  }

  /** A clean shutdown: SIGTERM, and a wait until the process has exited (leadership moves first). */
  async stopBroker(nodeId: number): Promise<void> {
    await stopServer(this.node(nodeId));
  }

  /** A crash: SIGKILL, and a wait until the process is gone. */
  async killBroker(nodeId: number): Promise<void> {
    await stopServer(this.node(nodeId), 0);
  }

  async isRunning(nodeId: number): Promise<boolean> {
    const node = this.node(nodeId);
    return (await runningPid(node.id, node.paths)) !== undefined;
  }

  /** The node's log file, for a test's failure message. */
  logFile(nodeId: number): string {
    const node = this.node(nodeId);
    return node.paths.log(node.id);
  }

  /** Kafka clients of this cluster, configured from `environment` (quiet: a test expects brokers to go away); the caller closes them. */
  client(clientId: string): KafkaClients {
    return createKafka({ clientId, config: loadConfig(kafkaConfig, this.environment), logger: createLogger(clientId, 'silent') });
  }

  /** Kills every node and, when the cluster made its own home, deletes it. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodeIds.map((nodeId) => this.killBroker(nodeId)));
    if (this.ownsHome) await rm(this.layout.paths.home, { recursive: true, force: true });
  }
}
