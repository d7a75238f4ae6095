import type { Logger } from './logger.ts';
import { ConfigError } from './config.ts';

/**
 * The one way a service process starts and stops: `start` brings the service up and
 * returns how to stop it; SIGTERM or SIGINT stops it cleanly (a second signal exits at
 * once); a configuration error prints the variables at fault and exits 1, without a stack.
 */
export async function runService(name: string, logger: Logger, start: () => Promise<() => Promise<void>>): Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `${name} stopping`);
    try {
      await stop?.();
      logger.info(`${name} stopped`);
      process.exit(0);
    } catch (error) {
      logger.error({ error: error instanceof Error ? error.stack : String(error) }, `${name} did not stop cleanly`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  try {
    stop = await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${name}: ${error.message}`);
    } else {
      logger.fatal({ error: error instanceof Error ? error.stack : String(error) }, `${name} failed to start`);
    }
    process.exit(1);
  }
}
