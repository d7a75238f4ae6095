import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * The one structured logger: JSON lines on stdout, one field `service` naming the process,
 * so the logs of many services can be merged and filtered.
 */
export function createLogger(service: string, level: LevelWithSilent = readLevel()): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

function readLevel(): LevelWithSilent {
  const level = process.env.LOG_LEVEL;
  const known: LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  return known.find((candidate) => candidate === level) ?? 'info';
}
