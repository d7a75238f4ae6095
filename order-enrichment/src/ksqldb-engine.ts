import { HttpError, type Logger } from '@ecosystem/platform';
import type { FraudEngine } from './engine.ts';
import { KsqlDbError, type KsqlDbClient, type StreamsProperties } from './ksqldb-client.ts';
import { fraudRow, newestFirst, type FraudRow } from './rules.ts';
import type { KsqlStatements } from './sql.ts';

/**
 * Persistent queries read their sources from the beginning: the customers table must hold
 * every customer, not only those written after the query started (ksqlDB's default is latest).
 */
export const persistentQueryProperties: StreamsProperties = { 'ksql.streams.auto.offset.reset': 'earliest' };
/** GET /fraud scans the whole (windowed) fraud table, which needs table scans enabled. */
export const pullQueryProperties: StreamsProperties = { 'ksql.query.pull.table.scan.enabled': 'true' };

export interface KsqlDbEngineOptions {
  client: KsqlDbClient;
  statements: KsqlStatements;
  logger: Logger;
  /** How long start() keeps retrying while ksqlDB is unreachable or answers 5xx. */
  startupTimeoutMs: number;
  retryDelayMs?: number;
}

/**
 * ksqlDB computes the tables: at startup every statement of `sql/` is issued in order (each
 * waiting, through commandSequenceNumber, until the previous one has been executed), and
 * GET /fraud is a pull query, which ksqlDB answers for its whole cluster. The statements are
 * CREATE ... IF NOT EXISTS, so a restart, a second instance or a retried request is harmless.
 */
export class KsqlDbFraudEngine implements FraudEngine {
  readonly kind = 'ksqldb';
  private ready = false;
  private executed = 0;

  constructor(private readonly options: KsqlDbEngineOptions) {}

  get isReady(): boolean {
    return this.ready;
  }

  describe(): Record<string, unknown> {
    return { engine: this.kind, statements: `${this.executed}/${this.options.statements.statements.length}` };
  }

  async start(): Promise<void> {
    const { client, statements, logger } = this.options;
    let sequence: number | undefined;
    for (const { file, sql } of statements.statements) {
      const entities = await this.retrying(file, () => client.execute(sql, { streamsProperties: persistentQueryProperties, ...(sequence !== undefined ? { commandSequenceNumber: sequence } : {}) }));
      for (const entity of entities) {
        if (entity.commandSequenceNumber !== undefined) sequence = Math.max(sequence ?? entity.commandSequenceNumber, entity.commandSequenceNumber);
        logger.info({ file, type: entity.type, status: entity.status, message: entity.message, warnings: entity.warnings }, 'ksqlDB statement issued');
      }
      this.executed += 1;
    }
    this.ready = true;
  }

  async fraud(limit: number): Promise<FraudRow[]> {
    if (!this.ready) throw new HttpError(503, 'the ksqlDB statements are not issued yet; retry');
    let result;
    try {
      result = await this.options.client.query(this.options.statements.fraudQuery, pullQueryProperties);
    } catch (error) {
      if (!(error instanceof KsqlDbError)) throw error;
      throw new HttpError(error.details.retryable ? 503 : 502, 'ksqlDB could not answer the fraud query', { reason: error.message, ksqldb: error.details });
    }
    const rows: FraudRow[] = [];
    for (const columns of result.rows) {
      const row = fraudRowOfKsql(columns);
      if (row === 'malformed') throw new HttpError(502, 'ksqlDB answered the fraud query with a row of an unexpected shape', { row: columns });
      if (row) rows.push(row);
    }
    return newestFirst(rows, limit);
  }

  async close(): Promise<void> {
    this.ready = false;
  }

  /** Retries what failed for a reason that may pass (ksqlDB starting, unreachable, 5xx); a rejected statement fails at once. */
  private async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.options.startupTimeoutMs;
    let delay = this.options.retryDelayMs ?? 500;
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof KsqlDbError) || !error.details.retryable || Date.now() + delay > deadline) throw error;
        this.options.logger.warn({ statement: what, error: error.message, retryInMs: delay }, 'ksqlDB not available; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }
}

/**
 * A row of the fraud pull query as a fraud row, through the same rule as the local engine
 * (so the > 2 threshold holds even if the table's HAVING were changed); 'malformed' for a row
 * whose columns do not have the types the query selects.
 */
export function fraudRowOfKsql(columns: Record<string, unknown>): FraudRow | undefined | 'malformed' {
  const { CUSTOMERID: customerId, FIRSTNAME: firstName, LASTNAME: lastName, COUNTS: counts, WINDOWSTART: start, WINDOWEND: end } = columns;
  const whole = (value: unknown): value is number => Number.isSafeInteger(value);
  const name = (value: unknown): value is string | null => value === null || value === undefined || typeof value === 'string';
  if (!whole(customerId) || !name(firstName) || !name(lastName) || !whole(counts) || !whole(start) || !whole(end)) return 'malformed';
  return fraudRow(customerId, { start, end }, { counts, firstName: firstName ?? null, lastName: lastName ?? null });
}
