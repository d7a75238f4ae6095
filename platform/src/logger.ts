import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * The one structured logger: JSON lines on stdout, one field `service` naming the process,
 * so the logs of many services can be merged and filtered. A service's level is its parsed
 * LOG_LEVEL (runService passes it); tools pass their own.
 */
export function createLogger(service: string, level: LevelWithSilent = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

