import { down, InfraError, status, up, type ServerName } from '@ecosystem/infra';

/**
 * Starts the real servers for the integration tests, or uses the ones already running.
 * Only what this setup started is stopped afterwards, so a developer's running
 * infrastructure survives a test run. A server that cannot start fails the run with the
 * launcher's message and fix: tests are never skipped for a missing server.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const before = await status();
  const alreadyHealthy = new Set(before.filter((server) => server.state === 'healthy').map((server) => server.name));
  try {
    await up(undefined, (line) => console.log(`[infra] ${line}`));
  } catch (error) {
    if (error instanceof InfraError) {
      throw new Error(
        `The integration tests need the real Kafka, schema registry and Elasticsearch, and they could not be started:\n` +
          `${error.message}\nfix: ${error.fix ?? '-'}\n${error.details ?? ''}`,
      );
    }
    throw error;
  }
  const startedHere = (['kafka', 'registry', 'elasticsearch'] as ServerName[]).filter(
    (name) => !alreadyHealthy.has(name) && before.find((server) => server.name === name)?.mode === 'local',
  );
  return async () => {
    if (startedHere.length > 0 && process.env.KEEP_INFRA !== '1') await down(startedHere, (line) => console.log(`[infra] ${line}`));
  };
}
