/**
 * A small typed client of ksqlDB's REST API over fetch (the `ksqldb-client` package is
 * unmaintained and its types break under ESM). It speaks the two documented exchanges the
 * service needs, with the versioned content type `application/vnd.ksql.v1+json`:
 *
 * - `POST /ksql` `{ ksql, streamsProperties, commandSequenceNumber? }` → 200 with an array of
 *   entities (`currentStatus` for CREATE statements, `warning_entity` when IF NOT EXISTS
 *   finds the object), or 4xx/5xx with an error entity
 *   `{ "@type": "statement_error" | "generic_error" | ..., error_code, message, statementText? }`.
 * - `POST /query` `{ ksql, streamsProperties }` (a pull query) → 200 with a JSON array:
 *   `{ header: { queryId, schema } }`, then `{ row: { columns } }` per row, possibly
 *   `{ finalMessage }` or `{ errorMessage }`; or 4xx/5xx with an error entity.
 *
 * HTTP/1.1 `/query` rather than `/query-stream`, which ksqlDB documents as HTTP/2 only.
 */

export const ksqlContentType = 'application/vnd.ksql.v1+json';

export interface KsqlErrorDetails {
  /** HTTP status, when ksqlDB answered. */
  status?: number;
  /** The entity's `@type`, e.g. `statement_error`. */
  type?: string;
  /** ksqlDB's error code, e.g. 40001 for a statement it cannot execute. */
  errorCode?: number;
  statementText?: string;
  /** A network failure or a 5xx: trying again later may succeed. A 4xx will fail the same way again. */
  retryable: boolean;
}

/** ksqlDB refused a request, failed it, or could not be reached; the message says which and why. */
export class KsqlDbError extends Error {
  constructor(
    message: string,
    readonly details: KsqlErrorDetails,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'KsqlDbError';
  }
}

/** One entity of a `/ksql` answer. */
export interface KsqlEntity {
  type: string;
  statementText?: string;
  commandId?: string;
  /** QUEUED, PARSING, EXECUTING, SUCCESS, ERROR or TERMINATED (for `currentStatus`). */
  status?: string;
  message?: string;
  commandSequenceNumber?: number;
  warnings: string[];
}

export interface KsqlQueryResult {
  queryId?: string;
  columns: string[];
  /** Each row by column name. */
  rows: Array<Record<string, unknown>>;
}

export type StreamsProperties = Record<string, string>;

export interface KsqlDbClientOptions {
  /** The server's base URL, e.g. http://ksqldb-server:8088. */
  url: string;
  timeoutMs: number;
}

export class KsqlDbClient {
  private readonly base: string;

  constructor(private readonly options: KsqlDbClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  /** Runs statements (not SELECT) through `POST /ksql`. */
  async execute(ksql: string, options: { streamsProperties?: StreamsProperties; commandSequenceNumber?: number } = {}): Promise<KsqlEntity[]> {
    const body = {
      ksql,
      streamsProperties: options.streamsProperties ?? {},
      ...(options.commandSequenceNumber !== undefined ? { commandSequenceNumber: options.commandSequenceNumber } : {}),
    };
    const answer = await this.post('/ksql', body, ksql);
    if (!Array.isArray(answer)) throw new KsqlDbError(`ksqlDB answered POST /ksql with ${describe(answer)}, not an array of entities`, { retryable: false, statementText: ksql });
    const entities = (answer as unknown[]).map((entity) => parseEntity(entity, ksql));
    const failed = entities.find((entity) => entity.status === 'ERROR');
    if (failed) {
      throw new KsqlDbError(`ksqlDB failed the statement: ${failed.message ?? 'command status ERROR'}\n  statement: ${oneLine(failed.statementText ?? ksql)}`, {
        retryable: false,
        ...(failed.statementText !== undefined ? { statementText: failed.statementText } : {}),
      });
    }
    return entities;
  }

  /** Runs a pull query through `POST /query` and reads every row. */
  async query(ksql: string, streamsProperties: StreamsProperties = {}): Promise<KsqlQueryResult> {
    const answer = await this.post('/query', { ksql, streamsProperties }, ksql);
    const items = Array.isArray(answer) ? (answer as unknown[]) : [answer];
    const result: KsqlQueryResult = { columns: [], rows: [] };
    let header = false;
    for (const item of items) {
      if (!isObject(item)) throw new KsqlDbError(`ksqlDB answered POST /query with ${describe(item)} in its array`, { retryable: false, statementText: ksql });
      if (item.errorMessage !== undefined && item.errorMessage !== null) throw errorFrom(undefined, item.errorMessage, ksql);
      if (isObject(item.header)) {
        header = true;
        if (typeof item.header.queryId === 'string') result.queryId = item.header.queryId;
        if (typeof item.header.schema !== 'string') throw new KsqlDbError('ksqlDB answered POST /query with a header without a schema', { retryable: false, statementText: ksql });
        result.columns = columnNames(item.header.schema);
      } else if (isObject(item.row)) {
        if (!header) throw new KsqlDbError('ksqlDB answered POST /query with a row before the header', { retryable: false, statementText: ksql });
        if (item.row.tombstone === true) continue;
        const values = item.row.columns;
        if (!Array.isArray(values) || values.length !== result.columns.length) {
          throw new KsqlDbError(`ksqlDB answered POST /query with a row of ${describe(values)} for the columns ${result.columns.join(', ')}`, { retryable: false, statementText: ksql });
        }
        result.rows.push(Object.fromEntries(result.columns.map((column, index) => [column, (values as unknown[])[index]])));
      }
      // { finalMessage } ends the answer; anything else is informational.
    }
    if (!header) throw new KsqlDbError('ksqlDB answered POST /query without a header', { retryable: false, statementText: ksql });
    return result;
  }

  private async post(path: string, body: unknown, statement: string): Promise<unknown> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.base}${path}`, {
        method: 'POST',
        headers: { accept: ksqlContentType, 'content-type': ksqlContentType },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new KsqlDbError(`ksqlDB at ${this.base} could not be reached (POST ${path}): ${reason}`, { retryable: true }, { cause: error });
    }
    const parsed = parseJson(text);
    if (!response.ok) throw errorFrom(response.status, parsed ?? text, statement);
    if (parsed === undefined) throw new KsqlDbError(`ksqlDB answered POST ${path} with a body that is not JSON: ${text.slice(0, 200)}`, { retryable: false, statementText: statement });
    return parsed;
  }
}

/** The error entity ksqlDB answers with (or a plain body from something in between), as a KsqlDbError. */
function errorFrom(status: number | undefined, body: unknown, statement: string): KsqlDbError {
  const retryable = status === undefined ? false : status >= 500;
  const at = status === undefined ? '' : ` (HTTP ${status})`;
  if (typeof body === 'string') return new KsqlDbError(`ksqlDB failed${at}: ${body.slice(0, 500) || 'no message'}`, { ...(status !== undefined ? { status } : {}), retryable, statementText: statement });
  if (!isObject(body)) return new KsqlDbError(`ksqlDB failed${at} with ${describe(body)}`, { ...(status !== undefined ? { status } : {}), retryable, statementText: statement });
  const type = typeof body['@type'] === 'string' ? body['@type'] : undefined;
  const errorCode = typeof body.error_code === 'number' ? body.error_code : undefined;
  const message = typeof body.message === 'string' ? body.message : JSON.stringify(body);
  const statementText = typeof body.statementText === 'string' ? body.statementText : statement;
  const kind = [type, errorCode].filter((part) => part !== undefined).join(' ');
  return new KsqlDbError(`ksqlDB rejected the request${at}${kind ? ` [${kind}]` : ''}: ${message}\n  statement: ${oneLine(statementText)}`, {
    ...(status !== undefined ? { status } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(errorCode !== undefined ? { errorCode } : {}),
    statementText,
    retryable,
  });
}

function parseEntity(entity: unknown, statement: string): KsqlEntity {
  if (!isObject(entity) || typeof entity['@type'] !== 'string') throw new KsqlDbError(`ksqlDB answered POST /ksql with the entity ${describe(entity)}`, { retryable: false, statementText: statement });
  const status = isObject(entity.commandStatus) ? entity.commandStatus : undefined;
  const warnings = Array.isArray(entity.warnings) ? (entity.warnings as unknown[]).flatMap((warning) => (isObject(warning) && typeof warning.message === 'string' ? [warning.message] : [])) : [];
  return {
    type: entity['@type'],
    ...(typeof entity.statementText === 'string' ? { statementText: entity.statementText } : {}),
    ...(typeof entity.commandId === 'string' ? { commandId: entity.commandId } : {}),
    ...(typeof status?.status === 'string' ? { status: status.status } : {}),
    ...(typeof status?.message === 'string' ? { message: status.message } : typeof entity.message === 'string' ? { message: entity.message } : {}),
    ...(typeof entity.commandSequenceNumber === 'number' ? { commandSequenceNumber: entity.commandSequenceNumber } : {}),
    warnings,
  };
}

/**
 * Column names from a `/query` header schema such as
 * "`CUSTOMERID` BIGINT KEY, `FIRSTNAME` STRING, `S` STRUCT<`A` INTEGER, `B` STRING>":
 * split at top-level commas, each part starting with the (back-quoted) name.
 */
export function columnNames(schema: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const character of schema) {
    if (character === '`') quoted = !quoted;
    else if (!quoted && (character === '<' || character === '(')) depth += 1;
    else if (!quoted && (character === '>' || character === ')')) depth -= 1;
    if (character === ',' && !quoted && depth === 0) {
      parts.push(current);
      current = '';
    } else current += character;
  }
  if (current.trim() !== '') parts.push(current);
  return parts.map((part) => {
    const trimmed = part.trim();
    const name = /^`((?:[^`]|``)+)`/.exec(trimmed)?.[1]?.replaceAll('``', '`') ?? /^(\S+)/.exec(trimmed)?.[1];
    if (name === undefined) throw new KsqlDbError(`cannot read the column names of the schema ${JSON.stringify(schema)}`, { retryable: false });
    return name;
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function oneLine(statement: string): string {
  const line = statement.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
