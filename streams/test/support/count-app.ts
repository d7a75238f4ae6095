/**
 * A counting application as its own process, for the crash tests: counts records per key
 * from INPUT_TOPIC into OUTPUT_TOPIC. Prints "ready" once running; SIGTERM closes it cleanly.
 */
import { KafkaStreams, type ProcessingGuarantee } from '../../src/index.ts';
import { countingTopology } from './counting.ts';
import { testClients } from './cluster.ts';

const environment = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const app = new KafkaStreams({
  applicationId: environment('APPLICATION_ID'),
  topology: countingTopology(environment('INPUT_TOPIC'), environment('OUTPUT_TOPIC')),
  clients: testClients('count-app'),
  stateDirectory: environment('STATE_DIRECTORY'),
  guarantee: environment('GUARANTEE') as ProcessingGuarantee,
  commitIntervalMs: Number(process.env.COMMIT_INTERVAL_MS ?? 100),
  sessionTimeoutMs: 6_000,
  ...(process.env.TRANSACTION_TIMEOUT_MS ? { transactionTimeoutMs: Number(process.env.TRANSACTION_TIMEOUT_MS) } : {}),
  // Warnings and errors as JSON lines on stderr, for tests that look at how the instance recovered.
  logger: { debug() {}, info() {}, warn: (fields, message) => console.error(JSON.stringify({ level: 'warn', message, ...fields })), error: (fields, message) => console.error(JSON.stringify({ level: 'error', message, ...fields })) },
});
app.onStateChange((state) => {
  if (state === 'running') console.log('ready');
});
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
await app.start();
