import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaCluster } from '@ecosystem/infra';
import { connectKafka, createKafka, createLogger, kafkaConfig, loadConfig } from '@ecosystem/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runService } from '../../scripts/services.ts';
import { TestSystem } from '../e2e/system.ts';

/**
 * The five pipeline services on a private Kafka that takes clients over SASL_SSL only (its own
 * CA made with keytool, SCRAM users created when its storage was formatted), configured the
 * way a user configures them: KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_CA_LOCATION.
 * The schema registry and Elasticsearch are the shared, unsecured ones (their TLS and
 * credentials are checked against a TLS server asking for them, in platform/test).
 */
const repository = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const quiet = createLogger('secure-cluster-test', 'silent');

let cluster: KafkaCluster | undefined;
let system: TestSystem | undefined;

beforeAll(async () => {
  cluster = await KafkaCluster.start({ secure: true });
  system = await TestSystem.start({ brokers: cluster.brokers, environment: cluster.environment });
}, 240_000);

afterAll(async () => {
  await system?.stop().catch(() => undefined);
  await cluster?.destroy();
}, 120_000);

describe('a Kafka cluster that takes SASL_SSL clients only', () => {
  it('runs an order from POST to VALIDATED through the five services', async () => {
    await system!.putStock({ JUMPERS: 10 });
    const posted = await system!.postOrder({ customerId: 42, product: 'JUMPERS', quantity: 2, price: 15 });
    expect(posted.status).toBe(201);
    const final = await system!.getOrder(posted.body.id as string, { validated: true, timeoutMs: 60_000 });
    expect(final.status).toBe(200);
    expect(final.body.state).toBe('VALIDATED');
  }, 120_000);

  it('accepts the client user with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN, and refuses a plaintext client', async () => {
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']) {
      const kafka = await connectKafka({ clientId: `secure-${mechanism}`, config: loadConfig(kafkaConfig, { ...cluster!.environment, KAFKA_SASL_MECHANISM: mechanism }), logger: quiet });
      try {
        expect((await kafka.admin().metadata({ topics: [] })).brokers.size).toBe(1);
      } finally {
        await kafka.close();
      }
    }
    const plaintext = createKafka({ clientId: 'secure-plaintext', config: loadConfig(kafkaConfig, { KAFKA_BROKERS: cluster!.bootstrap }), logger: quiet, tuning: { retries: 0, connectTimeoutMs: 2_000, requestTimeoutMs: 3_000 } });
    try {
      await expect(plaintext.admin().metadata({ topics: [] })).rejects.toThrow();
    } finally {
      await plaintext.close();
    }
  }, 60_000);

  it('stops a service at start with one line naming the setting when the password is wrong', async () => {
    const wrongPassword = 'not-the-password';
    const started = Date.now();
    const { code, stdout, stderr } = await startService('order-details-service', { ...cluster!.environment, KAFKA_SASL_PASSWORD: wrongPassword });
    const seconds = (Date.now() - started) / 1_000;
    const lines = stderr.split('\n').filter((line) => line.trim() !== '');
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(1);
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^order-details-service: Kafka rejected the SASL credentials of KAFKA_SASL_USERNAME=\S+ \(KAFKA_SASL_MECHANISM=SCRAM-SHA-512, broker 127\.0\.0\.1:\d+\): check KAFKA_SASL_PASSWORD\. /);
    expect(`${stdout}${stderr}`).not.toContain(wrongPassword);
    // Refused at the first connection, not after a retry schedule: the time is the process's start.
    expect(seconds).toBeLessThan(30);
  }, 60_000);
});

function startService(service: string, environment: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(runService, [service], {
      cwd: repository,
      env: { ...process.env, ...environment, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', TOPIC_PREFIX: `secure-${Date.now().toString(36)}.`, STATE_DIR: path.join(os.tmpdir(), `secure-cluster-${process.pid}`) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
