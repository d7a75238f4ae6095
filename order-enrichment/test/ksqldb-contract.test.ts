/**
 * Contract test of the ksqlDB engine (no ksqlDB server can run here). A local HTTP server plays
 * ksqlDB: it checks each request against ksqlDB's documented REST API and answers in its
 * documented shapes. The exchanges pinned down:
 *
 * 1. Startup, `POST /ksql`, one request per `sql/NN-*.sql` statement in file order, with
 *    `Accept` and `Content-Type: application/vnd.ksql.v1+json` and the body
 *    `{ ksql, streamsProperties: { "ksql.streams.auto.offset.reset": "earliest" }, commandSequenceNumber }`
 *    (the sequence number of the previous answer, absent on the first request). Answers:
 *    200 `[{ "@type": "currentStatus", statementText, commandId, commandStatus: { status, message },
 *    commandSequenceNumber, warnings }]`, or 200 `[{ "@type": "warning_entity", statementText, message }]`
 *    when IF NOT EXISTS finds the object (a restart).
 * 2. Startup failure: `POST /ksql` answered 400 `{ "@type": "statement_error", error_code: 40001,
 *    message, statementText, entities }` stops startup with that message; nothing more is sent.
 * 3. ksqlDB not ready: `POST /ksql` answered 503 `{ "@type": "generic_error", error_code, message }`
 *    is retried.
 * 4. GET /fraud, `POST /query` with the same headers and `{ ksql: <sql/fraud-query.sql>,
 *    streamsProperties: { "ksql.query.pull.table.scan.enabled": "true" } }`, answered 200 with a
 *    chunked JSON array `[{ header: { queryId, schema } }, { row: { columns } }..., { finalMessage }]`:
 *    the rows come back newest window first, at most `limit`.
 * 5. GET /fraud failure: `POST /query` answered 400 `statement_error` → 502 naming ksqlDB's message;
 *    a 200 answer carrying `{ errorMessage: { "@type", error_code, message } }` → 502 as well.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpServer, createLogger, type HttpServer } from '@ecosystem/platform';
import { afterEach, describe, expect, it } from 'vitest';
import { columnNames, KsqlDbClient, KsqlDbError } from '../src/ksqldb-client.ts';
import { KsqlDbFraudEngine } from '../src/ksqldb-engine.ts';
import { fraudRoutes } from '../src/routes.ts';
import { ksqlVariables, loadStatements } from '../src/sql.ts';

const contentType = 'application/vnd.ksql.v1+json';
const statements = loadStatements(ksqlVariables('contract.', 42));
const logger = createLogger('ksqldb-contract', 'silent');

interface Exchange {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}
interface Answer {
  status: number;
  body: unknown;
  /** Write a JSON array element by element, as ksqlDB streams /query answers. */
  chunked?: boolean;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The stand-in ksqlDB server: records every request and answers with `answer`. */
async function fakeKsqlDb(answer: (exchange: Exchange, index: number) => Answer) {
  const exchanges: Exchange[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text: the assertions show it
      }
      const exchange = { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body };
      exchanges.push(exchange);
      const { status, body: reply, chunked } = answer(exchange, exchanges.length - 1);
      response.writeHead(status, { 'content-type': contentType });
      if (chunked && Array.isArray(reply)) {
        response.write('[');
        reply.forEach((element, index) => response.write(`${index > 0 ? ',\n' : ''}${JSON.stringify(element)}`));
        response.end(']');
      } else response.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exchanges };
}

function engineFor(url: string): KsqlDbFraudEngine {
  return new KsqlDbFraudEngine({ client: new KsqlDbClient({ url, timeoutMs: 5_000 }), statements, logger, startupTimeoutMs: 5_000, retryDelayMs: 10 });
}

/** The service's HTTP API in front of the engine, as main.ts builds it. */
async function serviceFor(engine: KsqlDbFraudEngine): Promise<string> {
  const http: HttpServer = createHttpServer({ logger, router: fraudRoutes(() => engine), isReady: () => engine.isReady });
  const port = await http.listen(0, '127.0.0.1');
  closers.push(() => http.close());
  return `http://127.0.0.1:${port}`;
}

const created = (exchange: Exchange, sequence: number): Answer => {
  const ksql = (exchange.body as { ksql: string }).ksql;
  const [, kind, name] = /^CREATE (STREAM|TABLE) IF NOT EXISTS (\w+)/.exec(ksql) ?? [];
  return {
    status: 200,
    body: [
      {
        '@type': 'currentStatus',
        statementText: ksql,
        commandId: `${kind?.toLowerCase()}/${name}/create`,
        commandStatus: { status: 'SUCCESS', message: `${kind === 'TABLE' ? 'Table' : 'Stream'} created`, queryId: null },
        commandSequenceNumber: sequence,
        warnings: [],
      },
    ],
  };
};
const alreadyExists = (exchange: Exchange): Answer => {
  const ksql = (exchange.body as { ksql: string }).ksql;
  return { status: 200, body: [{ '@type': 'warning_entity', statementText: ksql, message: 'Cannot add stream: A stream with the same name already exists.', warnings: [] }] };
};

/** A started engine whose /query answers with `query`. */
async function startedWith(query: (exchange: Exchange) => Answer) {
  const ksqldb = await fakeKsqlDb((exchange, index) => (exchange.path === '/ksql' ? created(exchange, index + 1) : query(exchange)));
  const engine = engineFor(ksqldb.url);
  await engine.start();
  ksqldb.exchanges.splice(0);
  return { ksqldb, service: await serviceFor(engine) };
}

function expectKsqlHeaders(exchange: Exchange): void {
  expect(exchange.method).toBe('POST');
  expect(exchange.headers.accept).toBe(contentType);
  expect(exchange.headers['content-type']).toBe(contentType);
}

const schema = '`CUSTOMERID` BIGINT KEY, `FIRSTNAME` STRING, `LASTNAME` STRING, `COUNTS` BIGINT, `WINDOWSTART` BIGINT KEY, `WINDOWEND` BIGINT KEY';
const w = 1_700_000_010_000;

describe('startup: POST /ksql', () => {
  it('issues every statement of sql/ in file order, each waiting for the previous command', async () => {
    const ksqldb = await fakeKsqlDb((exchange, index) => created(exchange, 10 + index));
    const engine = engineFor(ksqldb.url);
    expect(engine.isReady).toBe(false);
    await engine.start();
    expect(engine.isReady).toBe(true);
    expect(ksqldb.exchanges.map((exchange) => exchange.path)).toEqual(statements.statements.map(() => '/ksql'));
    ksqldb.exchanges.forEach((exchange, index) => {
      expectKsqlHeaders(exchange);
      expect(exchange.body).toEqual({
        ksql: statements.statements[index]!.sql,
        streamsProperties: { 'ksql.streams.auto.offset.reset': 'earliest' },
        ...(index > 0 ? { commandSequenceNumber: 10 + index - 1 } : {}),
      });
    });
    expect((ksqldb.exchanges[0]!.body as { ksql: string }).ksql).toMatch(/^CREATE STREAM IF NOT EXISTS CONTRACT_ORDERS \(ORDER_KEY VARCHAR KEY\)/);
    expect((ksqldb.exchanges[4]!.body as { ksql: string }).ksql).toMatch(/^CREATE TABLE IF NOT EXISTS CONTRACT_FRAUD_ORDERS[\s\S]*WINDOW TUMBLING \(SIZE 30 SECONDS[\s\S]*HAVING COUNT\(\*\) > 2/);
  });

  it('goes on when IF NOT EXISTS finds the objects (a restart), keeping the last known command sequence number', async () => {
    const ksqldb = await fakeKsqlDb((exchange, index) => (index === 2 ? created(exchange, 7) : alreadyExists(exchange)));
    const engine = engineFor(ksqldb.url);
    await engine.start();
    expect(engine.isReady).toBe(true);
    expect(ksqldb.exchanges.map((exchange) => (exchange.body as { commandSequenceNumber?: number }).commandSequenceNumber)).toEqual([undefined, undefined, undefined, 7, 7]);
  });

  it('stops at a statement_error with ksqlDB’s message and sends nothing more', async () => {
    const message = "Invalid join condition: stream-table joins require to join on the table's primary key.";
    const ksqldb = await fakeKsqlDb((exchange, index) =>
      index === 2
        ? { status: 400, body: { '@type': 'statement_error', error_code: 40001, message, statementText: (exchange.body as { ksql: string }).ksql, entities: [] } }
        : created(exchange, index + 1),
    );
    const engine = engineFor(ksqldb.url);
    const failure = await engine.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(KsqlDbError);
    const error = failure as KsqlDbError;
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('[statement_error 40001]');
    expect(error.message).toContain(message);
    expect(error.message).toContain('CREATE STREAM IF NOT EXISTS CONTRACT_ORDERS_BY_CUSTOMER');
    expect(error.details).toMatchObject({ status: 400, type: 'statement_error', errorCode: 40001, retryable: false });
    expect(ksqldb.exchanges).toHaveLength(3);
    expect(engine.isReady).toBe(false);
  });

  it('retries while ksqlDB answers 503 (not ready yet)', async () => {
    let refused = 0;
    const ksqldb = await fakeKsqlDb((exchange, index) => {
      if (index === 0 && refused < 2) {
        refused += 1;
        ksqldb.exchanges.splice(0);
        return { status: 503, body: { '@type': 'generic_error', error_code: 50301, message: 'KSQL is not yet ready to serve requests.' } };
      }
      return created(exchange, index + 1);
    });
    const engine = engineFor(ksqldb.url);
    await engine.start();
    expect(refused).toBe(2);
    expect(ksqldb.exchanges.map((exchange) => (exchange.body as { ksql: string }).ksql)).toEqual(statements.statements.map(({ sql }) => sql));
  });

  it('fails with a clear message when nothing answers at the URL', async () => {
    // A port that was free a moment ago: connections are refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const engine = new KsqlDbFraudEngine({ client: new KsqlDbClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 1_000 }), statements, logger, startupTimeoutMs: 0 });
    await expect(engine.start()).rejects.toThrow(`ksqlDB at http://127.0.0.1:${port} could not be reached (POST /ksql): connect ECONNREFUSED`);
  });
});

describe('GET /fraud: POST /query (pull query)', () => {
  const rows = [
    [11, 'Ada', 'Lovelace', 3, w, w + 30_000],
    [12, null, null, 5, w + 60_000, w + 90_000],
    [10, 'Grace', 'Hopper', 4, w + 60_000, w + 90_000],
  ];
  const answer: Answer = {
    status: 200,
    chunked: true,
    body: [{ header: { queryId: 'query_1700000000000', schema } }, ...rows.map((columns) => ({ row: { columns } })), { finalMessage: 'Pull query complete' }],
  };

  it('sends the pull query of sql/fraud-query.sql and answers newest windows first, at most limit', async () => {
    const { ksqldb, service } = await startedWith(() => answer);
    const response = await fetch(`${service}/fraud?limit=2`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { customerId: 10, firstName: 'Grace', lastName: 'Hopper', counts: 4, windowStart: w + 60_000, windowEnd: w + 90_000 },
      { customerId: 12, firstName: null, lastName: null, counts: 5, windowStart: w + 60_000, windowEnd: w + 90_000 },
    ]);
    expect(ksqldb.exchanges).toHaveLength(1);
    const [query] = ksqldb.exchanges;
    expectKsqlHeaders(query!);
    expect(query!.path).toBe('/query');
    expect(query!.body).toEqual({ ksql: statements.fraudQuery, streamsProperties: { 'ksql.query.pull.table.scan.enabled': 'true' } });
    expect(statements.fraudQuery).toBe('SELECT CUSTOMERID, FIRSTNAME, LASTNAME, COUNTS, WINDOWSTART, WINDOWEND\n  FROM CONTRACT_FRAUD_ORDERS;');

    expect(((await (await fetch(`${service}/fraud`)).json()) as unknown[]).length).toBe(3);
  });

  it('validates limit before asking ksqlDB, and has no per-instance share', async () => {
    const { ksqldb, service } = await startedWith(() => answer);
    for (const bad of ['0', 'ten', '1001']) {
      const response = await fetch(`${service}/fraud?limit=${bad}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid limit', fields: { limit: expect.stringContaining('a whole number from 1 to 1000') } });
    }
    expect((await fetch(`${service}/fraud/instance`)).status).toBe(404);
    expect(ksqldb.exchanges).toHaveLength(0);
  });

  it('answers 502 with ksqlDB’s message when the pull query is rejected', async () => {
    const message = "Line: 1, Col: 69: FRAUD_ORDERS does not exist.";
    const { service } = await startedWith(() => ({ status: 400, body: { '@type': 'statement_error', error_code: 40001, message, statementText: statements.fraudQuery, entities: [] } }));
    const response = await fetch(`${service}/fraud`);
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: string; reason: string; ksqldb: Record<string, unknown> };
    expect(body.error).toBe('ksqlDB could not answer the fraud query');
    expect(body.reason).toContain(message);
    expect(body.ksqldb).toMatchObject({ status: 400, type: 'statement_error', errorCode: 40001 });
  });

  it('answers 502 when ksqlDB reports an error inside a 200 answer', async () => {
    const { service } = await startedWith(() => ({
      status: 200,
      body: [{ header: { queryId: 'q', schema } }, { errorMessage: { '@type': 'generic_error', error_code: 50000, message: 'Pull query failed: store not available' } }],
    }));
    const response = await fetch(`${service}/fraud`);
    expect(response.status).toBe(502);
    expect(((await response.json()) as { reason: string }).reason).toContain('Pull query failed: store not available');
  });
});

describe('reading a /query header', () => {
  it('takes the column names, also around struct types and quoted names', () => {
    expect(columnNames(schema)).toEqual(['CUSTOMERID', 'FIRSTNAME', 'LASTNAME', 'COUNTS', 'WINDOWSTART', 'WINDOWEND']);
    expect(columnNames('`ID` BIGINT KEY, `S` STRUCT<`A` INTEGER, `B` MAP<STRING, INTEGER>>, `odd,name` STRING')).toEqual(['ID', 'S', 'odd,name']);
  });
});
