import type { LevelWithSilent } from 'pino';
import type { z } from 'zod';
import { ConfigError, loadConfig, StartupError, type env } from './config.ts';
import { createLogger, type Logger } from './logger.ts';

/** A service's configuration shape: whatever it reads, and the log level its logger takes. */
export type ServiceConfigShape = z.ZodRawShape & { LOG_LEVEL: ReturnType<typeof env.logLevel> };

/**
 * The one way a service process starts and stops: its configuration is read and checked
 * first (an error prints the variables at fault and exits 1, without a stack; so does a
 * `StartupError` of `start`, such as Kafka refusing the credentials), its logger
 * takes the parsed LOG_LEVEL, then `start` brings the service up and returns how to stop it;
 * SIGTERM or SIGINT stops it cleanly (a second signal exits at once).
 */
export async function runService<Shape extends ServiceConfigShape>(
  name: string,
  shape: Shape,
  start: (config: z.infer<z.ZodObject<Shape>>, logger: Logger) => Promise<() => Promise<void>>,
): Promise<void> {
  let config: z.infer<z.ZodObject<Shape>>;
  try {
    config = loadConfig(shape);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${name}: ${error.message}`);
    process.exit(1);
  }
  // The shape's LOG_LEVEL is the shared enum, so the parsed value is a level (generic types cannot follow it there).
  const logger = createLogger(name, (config as { LOG_LEVEL: LevelWithSilent }).LOG_LEVEL);
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
    stop = await start(config, logger);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) {
      // The settings are at fault (Kafka refused the credentials...): the message says which, a stack would not help.
      console.error(`${name}: ${error.message}`);
    } else {
      logger.fatal({ error: error instanceof Error ? error.stack : String(error) }, `${name} failed to start`);
    }
    process.exit(1);
  }
}

/**
 * For command-line tools, as `.catch(exitOnStartupError('populator'))` on a start-up step: a
 * `StartupError` or `ConfigError` (Kafka refused the credentials...) is printed as its message
 * and the process exits 1, without a stack; anything else is thrown on.
 */
export function exitOnStartupError(name: string): (error: unknown) => never {
  return (error: unknown) => {
    if (error instanceof ConfigError || error instanceof StartupError) {
      console.error(`${name}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  };
}
