import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerTopicSchemas, Topics, topicSerdes, type Order, type OrderValidation, type TopicSerdes } from '@ecosystem/avro';
import { freeLoopbackPort } from '@ecosystem/infra';
import { authorizationHeaders, createKafka, createLogger, createSchemaRegistryClient, ensureTopics, loadInfrastructureConfig, systemTopics, type InfrastructureConfig, type KafkaClients } from '@ecosystem/platform';
import type { RecordHeaders } from 'kstreams';
import { runService } from '../../scripts/services.ts';
import { readTopicUntil } from '../support/kafka.ts';
import { answerOf, ResponseValidator } from '../support/openapi.ts';

const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const sharedBrokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A service folder of the repository, as `scripts/run-service` takes it. */
export type ServiceName = 'orders-service' | 'inventory-service' | 'fraud-service' | 'order-details-service' | 'validation-aggregator' | 'order-enrichment' | 'email-service' | 'dashboard';
export const pipelineServices: ServiceName[] = ['orders-service', 'inventory-service', 'fraud-service', 'order-details-service', 'validation-aggregator'];

export interface ServiceProcess {
  service: ServiceName;
  instance: number;
  port: number;
  child: ChildProcess;
  output: string[];
  /** Set when the test stopped it on purpose. */
  stopped?: boolean;
}

/**
 * A complete copy of the order pipeline for one test: every service as its own process,
 * on the real broker and registry, isolated from every other copy by a topic prefix (and so
 * its own application ids, internal topics and subjects). `stop()` ends the processes and
 * deletes the copy's topics.
 */
export class TestSystem {
  readonly processes: ServiceProcess[] = [];
  private ordersApi: Promise<ResponseValidator> | undefined;
  readonly kafka: KafkaClients;
  readonly serdes: TopicSerdes;
  /** The servers and how to reach them, read as the services read them: the test's environment over this process's. */
  readonly settings: InfrastructureConfig;

  private constructor(
    readonly prefix: string,
    private readonly stateDirectory: string,
    private readonly environment: Record<string, string>,
    /** The cluster the copy runs on: the shared broker, or a test's private cluster. */
    readonly brokers: string[],
  ) {
    this.settings = loadInfrastructureConfig({ ...process.env, KAFKA_BROKERS: brokers.join(','), ...environment });
    this.kafka = createKafka({ clientId: `${prefix}test`, config: this.settings, logger: createLogger('e2e', 'silent') });
    this.serdes = topicSerdes(createSchemaRegistryClient(this.settings), { prefix });
  }

  static async start(options: { ordersInstances?: number; services?: ServiceName[]; environment?: Record<string, string>; brokers?: string[] } = {}): Promise<TestSystem> {
    const prefix = `e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}.`;
    const brokers = options.brokers ?? sharedBrokers;
    const system = new TestSystem(prefix, await mkdtemp(path.join(os.tmpdir(), 'e2e-state-')), options.environment ?? {}, brokers);
    await ensureTopics(system.kafka, systemTopics, { prefix });
    await registerTopicSchemas(createSchemaRegistryClient(system.settings), { prefix });
    const services = options.services ?? pipelineServices;
    try {
      await Promise.all(
        services.flatMap((service) =>
          Array.from({ length: service === 'orders-service' ? (options.ordersInstances ?? 1) : 1 }, (_, instance) => system.startService(service, instance)),
        ),
      );
      await system.waitUntilReady();
    } catch (error) {
      // Never leave half a system running behind a failed start.
      await system.stop();
      throw error;
    }
    return system;
  }

  /** `environment` adds to the system's, e.g. the addresses of the other services for the dashboard. */
  async startService(service: ServiceName, instance = 0, environment: Record<string, string> = {}): Promise<ServiceProcess> {
    const port = await freeLoopbackPort();
    // Started as npm start starts it: its compiled JavaScript (npm test builds it first).
    const child = spawn(runService, [service], {
      cwd: repository,
      env: {
        ...process.env,
        KAFKA_BROKERS: this.brokers.join(','),
        TOPIC_PREFIX: this.prefix,
        APPLICATION_ID: `${this.prefix}${service}`,
        STATE_DIR: path.join(this.stateDirectory, `${service}-${instance}`),
        PORT: String(port),
        HOST: '127.0.0.1',
        ADVERTISED_ENDPOINT: `127.0.0.1:${port}`,
        // E2E_LOG_LEVEL (e.g. info, with E2E_LOG_DIR) tells what the services did, for a failure's diagnosis.
        LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
        SESSION_TIMEOUT_MS: '6000',
        ...this.environment,
        ...environment,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    // E2E_LOG_DIR keeps every service's whole output, for diagnosing a failure after the fact.
    const logFile = process.env.E2E_LOG_DIR ? createWriteStream(path.join(process.env.E2E_LOG_DIR, `${this.prefix}${service}-${instance}.log`), { flags: 'a' }) : undefined;
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.shift();
      logFile?.write(chunk);
    };
    child.once('exit', () => logFile?.end());
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const started: ServiceProcess = { service, instance, port, child, output };
    this.processes.push(started);
    return started;
  }

  /**
   * Runs the populator against this system to its end and returns its output. It must finish
   * within `limitMs`: a request or a send that never ends would otherwise hold the test until its
   * timeout and say nothing.
   */
  populate(args: string[], limitMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(runService, ['populator', ...args], { cwd: repository, env: { ...process.env, TOPIC_PREFIX: this.prefix, KAFKA_BROKERS: this.brokers.join(',') } });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const services = () => this.processes.map(({ service, output: lines }) => `${service}:\n${lines.join('').slice(-1_500)}`).join('\n');
      const overdue = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the populator had not finished after ${limitMs / 1000} s:\n${output}\n${services()}`));
      }, limitMs);
      child.on('exit', (code) => {
        clearTimeout(overdue);
        if (code === 0) resolve(output);
        else reject(new Error(`the populator exited with ${code}:\n${output}\n${services()}`));
      });
    });
  }

  /** Kills a running service (SIGKILL by default: a crash) and waits until it is gone. */
  async kill(service: ServiceName, signal: NodeJS.Signals = 'SIGKILL', instance = 0): Promise<void> {
    const running = this.processes.find((process) => process.service === service && process.instance === instance && !process.stopped);
    if (!running) throw new Error(`${service} #${instance} is not running`);
    running.stopped = true;
    const exited = new Promise((resolve) => running.child.once('exit', resolve));
    running.child.kill(signal);
    await exited;
  }

  /** Starts a service again on its old state directory and waits until it is ready. */
  async restart(service: ServiceName, instance = 0): Promise<void> {
    await this.startService(service, instance);
    await this.waitUntilReady();
  }

  /** Every running service answers 200 on /ready. */
  async waitUntilReady(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const process of this.processes.filter((candidate) => !candidate.stopped)) {
      for (;;) {
        if (process.child.exitCode !== null) throw new Error(`${process.service} exited with ${process.child.exitCode}:\n${process.output.join('').slice(-3_000)}`);
        const ready = await fetch(`http://127.0.0.1:${process.port}/ready`).then((response) => response.ok).catch(() => false);
        if (ready) break;
        if (Date.now() > deadline) throw new Error(`${process.service} not ready after ${timeoutMs} ms:\n${process.output.join('').slice(-3_000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** API_TOKEN of the services, when the test gives them one: every request of the helpers carries it. */
  get apiToken(): string | undefined {
    return this.environment.API_TOKEN ?? process.env.API_TOKEN;
  }

  /** The address of a running service's HTTP endpoints. */
  serviceUrl(service: ServiceName, instance = 0): string {
    const running = this.processes.find((process) => process.service === service && process.instance === instance && !process.stopped);
    if (!running) throw new Error(`${service} #${instance} is not running`);
    return `http://127.0.0.1:${running.port}`;
  }

  ordersUrl(instance = 0): string {
    const orders = this.processes.filter((process) => process.service === 'orders-service' && !process.stopped && process.child.exitCode === null);
    const chosen = orders.find((process) => process.instance === instance) ?? orders[0];
    if (!chosen) throw new Error('no orders-service is running');
    return `http://127.0.0.1:${chosen.port}`;
  }

  async postOrder(order: Record<string, unknown>, instance = 0): Promise<{ status: number; body: Record<string, unknown> }> {
    const { status, body } = await this.ordersRequest('/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) }, instance);
    return { status, body };
  }

  async getOrder(id: string, options: { validated?: boolean; timeoutMs?: number; instance?: number } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const suffix = options.validated ? '/validated' : '';
    const { status, body } = await this.ordersRequest(`/v1/orders/${encodeURIComponent(id)}${suffix}?timeout=${options.timeoutMs ?? 20_000}`, {}, options.instance);
    return { status, body };
  }

  /**
   * A request to the orders API (`target`: path and query) whose answer must match the API's
   * own /openapi.json, error answers included: one that does not fails the test. Every answer
   * of postOrder and getOrder is checked so.
   */
  async ordersRequest(target: string, init: RequestInit = {}, instance?: number): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
    const response = await fetch(`${this.ordersUrl(instance)}${target}`, { ...init, headers: { ...authorizationHeaders(this.apiToken), ...(init.headers as Record<string, string> | undefined) } });
    const answer = await answerOf(response);
    (await this.ordersContract()).check({ method: init.method ?? 'GET', target }, answer);
    return { status: response.status, headers: response.headers, body: JSON.parse(answer.body) as Record<string, unknown> };
  }

  /** The validator of the orders API's answers, from the /openapi.json the orders service serves (fetched once). */
  ordersContract(): Promise<ResponseValidator> {
    this.ordersApi ??= ResponseValidator.fetch(this.ordersUrl()).catch((error: unknown) => {
      this.ordersApi = undefined;
      throw error;
    });
    return this.ordersApi;
  }

  async putStock(stock: Record<string, number>): Promise<void> {
    await this.writeStock(stock);
    // Orders posted next must see this stock: wait until the inventory service has it.
    const inventory = this.processes.find((process) => process.service === 'inventory-service');
    if (!inventory) return;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const rows = (await (await fetch(`http://127.0.0.1:${inventory.port}/v1/stock`)).json()) as Array<{ product: string; stock: number }>;
      if (Object.entries(stock).every(([product, count]) => rows.find((row) => row.product === product)?.stock === count)) return;
      if (Date.now() > deadline) throw new Error(`the inventory service did not take the stock ${JSON.stringify(stock)}: ${JSON.stringify(rows)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Writes stock rows to warehouse-inventory.v1 (without waiting for any service to read them). */
  async writeStock(stock: Record<string, number>): Promise<void> {
    const serdes = this.serdes[Topics.warehouseInventory];
    const producer = this.kafka.producer();
    try {
      await producer.send({ messages: Object.entries(stock).map(([product, count]) => ({ topic: serdes.topic, key: serdes.key.serialize(product), value: serdes.value.serialize(count) })) });
    } finally {
      await producer.close();
    }
  }

  /**
   * Reads a topic of this system from the beginning until `done`, decoding values, and on to
   * its end at that moment (a late duplicate is seen before anything is asserted).
   */
  async read<V>(topic: string, decode: (value: Buffer) => Promise<V> | V, done: (records: Array<{ key: string; value: V; timestamp: number; headers: RecordHeaders }>) => boolean, timeoutMs = 60_000): Promise<Array<{ key: string; value: V; timestamp: number; headers: RecordHeaders }>> {
    return readTopicUntil(
      this.kafka,
      topic,
      async ({ key, value: bytes, timestamp, headers }) => {
        if (!key || !bytes) return undefined;
        // A record that does not decode (a poison record a test wrote) is not one of ours: skip it.
        const value = await Promise.resolve()
          .then(() => decode(bytes))
          .catch(() => undefined);
        return value === undefined ? undefined : { key: key.toString(), value, timestamp, headers };
      },
      done,
      { timeoutMs, name: `${this.prefix}reader` },
    );
  }

  /** Validation results of the given orders, once there are `perOrder` of each. */
  async validations(orderIds: string[], perOrder = 3): Promise<Map<string, OrderValidation[]>> {
    const wanted = new Set(orderIds);
    const serdes = this.serdes[Topics.orderValidations];
    const records = await this.read(serdes.topic, (value) => serdes.value.deserialize(value), (seen) => {
      const counts = new Map<string, number>();
      for (const { key } of seen) if (wanted.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
      return orderIds.every((id) => (counts.get(id) ?? 0) >= perOrder);
    });
    const byOrder = new Map<string, OrderValidation[]>();
    for (const { key, value } of records) if (wanted.has(key)) byOrder.set(key, [...(byOrder.get(key) ?? []), value]);
    return byOrder;
  }

  /** Every record of orders.v1 for the given orders, once each has a final state. */
  async orderHistory(orderIds: string[]): Promise<Map<string, Order[]>> {
    const wanted = new Set(orderIds);
    const serdes = this.serdes[Topics.orders];
    const records = await this.read(serdes.topic, (value) => serdes.value.deserialize(value), (seen) => {
      const final = new Set(seen.filter(({ key, value }) => wanted.has(key) && value.state !== 'CREATED').map(({ key }) => key));
      return orderIds.every((id) => final.has(id));
    });
    const byOrder = new Map<string, Order[]>();
    for (const { key, value } of records) if (wanted.has(key)) byOrder.set(key, [...(byOrder.get(key) ?? []), value]);
    return byOrder;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    const admin = this.kafka.admin();
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(this.prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    await this.kafka.close();
    await rm(this.stateDirectory, { recursive: true, force: true });
  }
}
