// The launcher from its source (a global setup does not resolve packages with the tests' source condition).
import { InfraError, up, down, type ServerName } from '../infra/src/index.ts';

/**
 * Starts the real servers for the integration tests, or uses the ones already running.
 * Only what this setup started is stopped afterwards, so a developer's running
 * infrastructure survives a test run. A server that cannot start fails the run with the
 * launcher's message, cause and fix: tests are never skipped for a missing server. When the
 * start fails, `up` has stopped what it launched already: a failed setup leaves nothing running.
 */
export default async function setup(): Promise<() => Promise<void>> {
  let startedHere: ServerName[];
  try {
    startedHere = await up(undefined, (line) => console.log(`[infra] ${line}`));
  } catch (error) {
    if (error instanceof InfraError) {
      throw new Error(
        `The integration tests need the real Kafka, schema registry and Elasticsearch, and they could not be started:\n` +
          `${error.message}\nfix: ${error.fix ?? '-'}\n${error.details ?? ''}`,
      );
    }
    throw error;
  }
  return async () => {
    if (startedHere.length > 0 && process.env.KEEP_INFRA !== '1') await down(startedHere, (line) => console.log(`[infra] ${line}`));
  };
}
