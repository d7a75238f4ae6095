/**
 * The broker's own ceiling on this machine, measured with Kafka's perf tools (from the
 * kafka-tools jar on the launcher's classpath) on a throwaway topic.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTopics, type KafkaClients } from 'kstreams';

const run = promisify(execFile);

export interface ProducerPerfResult {
  records: number;
  recordsPerSecond: number;
  megabytesPerSecond: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface ConsumerPerfResult {
  records: number;
  /** Over the fetch time alone, without joining the group. */
  recordsPerSecond: number;
  megabytesPerSecond: number;
}

/** The summary line of ProducerPerformance: "500000 records sent, 91234.5 records/sec (17.40 MB/sec), 120.3 ms avg latency, 480.0 ms max latency, 100 ms 50th, ...". */
export function parseProducerPerf(output: string): ProducerPerfResult {
  const line = output.split('\n').find((candidate) => / records sent, .* 50th/.test(candidate));
  if (!line) throw new Error(`no summary line in the producer perf output:\n${output.slice(-1_000)}`);
  const number = (pattern: RegExp) => Number(pattern.exec(line)?.[1] ?? Number.NaN);
  return {
    records: number(/^(\d+) records sent/),
    recordsPerSecond: number(/([\d.]+) records\/sec/),
    megabytesPerSecond: number(/\(([\d.]+) MB\/sec\)/),
    avgLatencyMs: number(/([\d.]+) ms avg latency/),
    maxLatencyMs: number(/([\d.]+) ms max latency/),
    p50Ms: number(/(\d+) ms 50th/),
    p95Ms: number(/(\d+) ms 95th/),
    p99Ms: number(/(\d+) ms 99th/),
  };
}

/** ConsumerPerformance prints a header line of names and a line of values, comma-separated. */
export function parseConsumerPerf(output: string): ConsumerPerfResult {
  const lines = output.split('\n').map((line) => line.trim());
  const headerIndex = lines.findIndex((line) => line.startsWith('start.time'));
  const values = lines[headerIndex + 1]?.split(',').map((value) => value.trim());
  if (headerIndex < 0 || !values) throw new Error(`no summary in the consumer perf output:\n${output.slice(-1_000)}`);
  const row = new Map(lines[headerIndex]!.split(',').map((name, index) => [name.trim(), Number(values[index])]));
  const value = (name: string) => row.get(name) ?? Number.NaN;
  return { records: value('data.consumed.in.nMsg'), recordsPerSecond: value('fetch.nMsg.sec'), megabytesPerSecond: value('fetch.MB.sec') };
}

export interface BrokerCeilingOptions {
  java: string;
  classpath: string;
  brokers: string;
  /** The Java client properties of a secured cluster (TLS, SASL), as `javaClientProperties` of the platform writes them. */
  clientProperties?: string;
  kafka: KafkaClients;
  records: number;
  recordSize: number;
  partitions: number;
  signal: AbortSignal;
}

export interface BrokerCeiling {
  records: number;
  recordSize: number;
  partitions: number;
  producer: ProducerPerfResult;
  consumer: ConsumerPerfResult;
}

/** Produces `records` with acks=all as fast as possible, then reads them back; the topic is deleted afterwards whatever happens. */
export async function measureBrokerCeiling(options: BrokerCeilingOptions): Promise<BrokerCeiling> {
  const topic = `bench-broker-perf-${Date.now().toString(36)}`;
  // The tools read a secured cluster's settings from a file of their own (it holds the password: owner-only, deleted after).
  const folder = options.clientProperties ? await mkdtemp(path.join(os.tmpdir(), 'bench-perf-')) : undefined;
  const commandConfig = folder ? path.join(folder, 'client.properties') : undefined;
  if (commandConfig) await writeFile(commandConfig, options.clientProperties!, { mode: 0o600 });
  const tool = async (mainClass: string, args: string[]) => {
    const config = commandConfig ? ['--command-config', commandConfig] : [];
    const { stdout, stderr } = await run(options.java, ['-Xmx512m', '-cp', options.classpath, mainClass, ...args, ...config], { signal: options.signal, maxBuffer: 16 * 2 ** 20 });
    return `${stdout}\n${stderr}`;
  };
  const admin = options.kafka.admin();
  await createTopics(admin, [{ name: topic, partitions: options.partitions, compacted: false, replicationFactor: 1 }]);
  try {
    const producer = parseProducerPerf(
      await tool('org.apache.kafka.tools.ProducerPerformance', [
        '--bootstrap-server', options.brokers, '--topic', topic, '--num-records', String(options.records), '--record-size', String(options.recordSize),
        '--throughput', '-1', '--command-property', 'acks=all',
      ]),
    );
    const consumer = parseConsumerPerf(
      await tool('org.apache.kafka.tools.ConsumerPerformance', ['--bootstrap-server', options.brokers, '--topic', topic, '--num-records', String(options.records), '--timeout', '60000']),
    );
    return { records: options.records, recordSize: options.recordSize, partitions: options.partitions, producer, consumer };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    if (folder) await rm(folder, { recursive: true, force: true });
  }
}
