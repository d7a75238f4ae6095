import http from 'node:http';
import { Topics } from '@ecosystem/avro';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzCase, type FuzzCase, type FuzzContext } from './support/order-fuzz.ts';
import { mebibytes, residentBytes } from './support/process-memory.ts';
import { Prng } from './support/prng.ts';
import { describeRequest, exchangeKeepAlive, exchangeRaw, type Exchange, type RequestSpec } from './support/raw-http.ts';
import { ResponseValidator, type RequestLine } from '../support/openapi.ts';
import { TopicRecords } from './support/topic-records.ts';
import { TestSystem, type ServiceProcess } from './system.ts';

/**
 * The orders API against 10,000 random and malformed requests, generated from one seed
 * (printed; `FUZZ_SEED=<seed>` replays the run), with a valid order every 50th request.
 * Requests go out 16 at a time, half of the well-formed ones through keep-alive connections
 * and everything else (bytes that are not HTTP at all) through raw sockets, loopback only.
 */
const requestCount = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const concurrency = 16;
const requestTimeoutMs = 20_000;
/** The README's defaults, which the test system does not change. */
const maxBodyBytes = 16 * 1024;
const maxTimeoutMs = 60_000;
/** The growth of the orders service's resident memory over the run that counts as a leak. */
const rssGrowthLimit = 100 * 1024 * 1024;

let system: TestSystem;
let orders: ServiceProcess;
/** Ids of the valid orders the service accepted (201). */
const accepted: string[] = [];

beforeAll(async () => {
  system = await TestSystem.start();
  orders = system.processes.find((process) => process.service === 'orders-service')!;
  await system.putStock({ JUMPERS: 1_000_000, UNDERPANTS: 1_000_000, STOCKINGS: 1_000_000 });
  contract = await system.ordersContract();
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

interface JsonAnswer {
  error?: unknown;
  fields?: unknown;
  id?: unknown;
}

function jsonOf(exchange: Exchange & { ok: true }): JsonAnswer | undefined {
  if (!/^application\/json\b/.test(exchange.answer.headers['content-type'] ?? '')) return undefined;
  try {
    const parsed: unknown = JSON.parse(exchange.answer.body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as JsonAnswer) : undefined;
  } catch {
    return undefined;
  }
}

/** Why the answer to `fuzzCase` is wrong, or undefined when it is right. */
function problemWith(fuzzCase: FuzzCase, exchange: Exchange): string | undefined {
  if (!exchange.ok) return exchange.failure;
  const { status } = exchange.answer;
  if (status === 500) return 'answered 500';
  const json = jsonOf(exchange);
  const namesAField = (wanted: string[]): string | undefined => {
    if (!json || typeof json.fields !== 'object' || json.fields === null) return `expected a JSON body with "fields", got ${exchange.answer.body.toString('utf8').slice(0, 300) || '(nothing)'}`;
    const named = Object.keys(json.fields);
    if (named.length === 0) return `"fields" names no field: ${exchange.answer.body.toString('utf8').slice(0, 300)}`;
    if (wanted.length > 0 && !wanted.some((field) => named.includes(field))) return `"fields" names ${JSON.stringify(named)}, none of ${JSON.stringify(wanted)}`;
    return undefined;
  };
  const { expect: expectation } = fuzzCase;
  switch (expectation.kind) {
    case 'invalid-order':
      if (status !== 400) return `expected 400, got ${status}`;
      if (typeof json?.error !== 'string') return 'a 400 without an error message';
      return namesAField(expectation.fields);
    case 'valid-order':
      if (status !== 201) return `expected 201, got ${status}: ${exchange.answer.body.toString('utf8').slice(0, 300)}`;
      if (typeof json?.id !== 'string') return 'a 201 without the order';
      if (expectation.id !== undefined && json.id !== expectation.id) return `created ${String(json.id)}, not ${expectation.id}`;
      if (exchange.answer.headers.location !== `/v1/orders/${encodeURIComponent(json.id)}`) return `wrong Location ${exchange.answer.headers.location}`;
      return undefined;
    case 'answer':
      if (!expectation.statuses.includes(status)) return `expected one of ${expectation.statuses.join(', ')}, got ${status}: ${exchange.answer.body.toString('utf8').slice(0, 300)}`;
      return expectation.fields ? namesAField(expectation.fields) : undefined;
  }
}

/**
 * The answer checked against the orders API's own /openapi.json: every answer the API gives to a
 * request for one of its operations must match the document, error answers included. Not
 * checked (counted by why): requests for no operation of the API (another path or method),
 * and requests Node's HTTP server answers itself, before the API sees them: malformed HTTP, no
 * Host header, an Expect other than 100-continue. Those answers are empty, without a
 * Content-Type; every answer of the API has a typed body.
 */
function contractProblem(fuzzCase: FuzzCase, exchange: Exchange): string | undefined {
  if (!exchange.ok) return undefined;
  const line = requestLine(fuzzCase.request);
  const byNode = exchange.answer.headers['content-type'] === undefined && exchange.answer.body.length === 0;
  const skipped = !line ? 'no request line' : !contract.match(line) ? 'no operation of the API' : byNode ? `answered ${exchange.answer.status} by Node's HTTP server` : undefined;
  if (skipped || !line) {
    count(contractSkipped, skipped ?? '');
    return undefined;
  }
  const problems = contract.problems(line, { status: exchange.answer.status, headers: exchange.answer.headers, body: exchange.answer.body.toString('utf8') }) ?? [];
  contractChecked += 1;
  return problems.length > 0 ? `against /openapi.json: ${problems.join('; ')}` : undefined;
}

/** The method and target of a request; of raw bytes, when they start with a request line. */
function requestLine(request: RequestSpec): RequestLine | undefined {
  if (!request.raw) return { method: request.method, target: request.target };
  const match = /^([A-Z]+) (\/\S*) HTTP\/1\.[01]\r\n/.exec(request.raw.toString('latin1'));
  return match ? { method: match[1]!, target: match[2]! } : undefined;
}

interface Failure {
  fuzzCase: FuzzCase;
  lane: string;
  problem: string;
  exchange: Exchange;
}

function report(failure: Failure): string {
  const { fuzzCase, lane, problem, exchange } = failure;
  const answer = exchange.ok
    ? `${exchange.answer.status} ${JSON.stringify(exchange.answer.headers)} ${exchange.answer.body.toString('utf8').slice(0, 500)}`
    : `none after ${exchange.ms} ms; received ${JSON.stringify(exchange.received.toString('latin1').slice(0, 300))}`;
  return `#${fuzzCase.index} [${fuzzCase.name}] via ${lane}: ${problem}\n--- request ---\n${describeRequest(fuzzCase.request)}\n--- answer ---\n${answer}`;
}

const statusesSeen = new Map<string, number>();
/** The orders API's /openapi.json, and how many answers were checked against it or not (by why). */
let contract: ResponseValidator;
let contractChecked = 0;
const contractSkipped = new Map<string, number>();
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

describe(`the orders API under ${requestCount} random and malformed requests`, () => {
  it('answers each as it must (400 naming a field for every malformed order), never 500, never hangs, and stays up without leaking memory', async () => {
    const seed = Prng.seedFrom('FUZZ_SEED');
    console.log(`bad-input HTTP fuzz: seed ${seed} (replay with FUZZ_SEED=${seed}), ${requestCount} requests against ${system.ordersUrl()}`);
    const prng = new Prng(seed);
    const context: FuzzContext = { runTag: `${seed.toString(36)}-${Date.now().toString(36)}`, maxBodyBytes, maxTimeoutMs, knownIds: [] };
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const failures: Failure[] = [];
    const families = new Map<string, number>();
    const lanes = new Map<string, number>();
    const slowest = { ms: 0, name: '' };

    // Warm the service (first requests compile code paths), then take the baseline.
    for (let index = 0; index < 50; index += 1) await fetch(`${system.ordersUrl()}/health`).then((response) => response.arrayBuffer());
    const rssBefore = await residentBytes(orders.child.pid!);

    const started = Date.now();
    let next = 0;
    const worker = async () => {
      for (;;) {
        const index = next;
        next += 1;
        if (index >= requestCount) return;
        // Cases and lanes are drawn in index order (no await in between): the seed alone decides them.
        const current = fuzzCase(prng, context, index);
        const lane = current.rawOnly || prng.chance(0.5) ? 'raw socket' : 'keep-alive';
        const exchange = lane === 'raw socket' ? await exchangeRaw(orders.port, current.request, requestTimeoutMs) : await exchangeKeepAlive(agent, orders.port, current.request, requestTimeoutMs);
        count(families, current.name.replace(/:.*/, ''));
        count(lanes, lane);
        count(statusesSeen, exchange.ok ? String(exchange.answer.status) : 'no answer');
        if (exchange.ms > slowest.ms) Object.assign(slowest, { ms: exchange.ms, name: `#${index} ${current.name}` });
        const problem = problemWith(current, exchange) ?? contractProblem(current, exchange);
        if (problem) failures.push({ fuzzCase: current, lane, problem, exchange });
        else if (current.expect.kind === 'valid-order' && exchange.ok) accepted.push(String(jsonOf(exchange)!.id));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = Date.now() - started;
    agent.destroy();

    // Still alive and answering, with no long-poll waiter left behind.
    expect(orders.child.exitCode, orders.output.join('').slice(-3_000)).toBeNull();
    const health = (await (await fetch(`${system.ordersUrl()}/health`)).json()) as { status: string; waiters: number };
    expect(health.status).toBe('up');
    const deadline = Date.now() + 15_000;
    let waiters = health.waiters;
    while (waiters > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      waiters = ((await (await fetch(`${system.ordersUrl()}/health`)).json()) as { waiters: number }).waiters;
    }
    const rssAfter = await residentBytes(orders.child.pid!);

    console.log(
      [
        `bad-input HTTP fuzz: seed ${seed}: ${requestCount} requests in ${(elapsed / 1000).toFixed(1)} s (${Math.round(requestCount / (elapsed / 1000))}/s), slowest ${slowest.ms} ms (${slowest.name})`,
        `  statuses: ${JSON.stringify(Object.fromEntries([...statusesSeen].sort()))}`,
        `  lanes: ${JSON.stringify(Object.fromEntries(lanes))}`,
        `  families: ${JSON.stringify(Object.fromEntries([...families].sort((a, b) => b[1] - a[1])))}`,
        `  valid orders accepted: ${accepted.length}; orders-service RSS ${mebibytes(rssBefore)} -> ${mebibytes(rssAfter)}; waiters left ${waiters}`,
        `  answers checked against /openapi.json: ${contractChecked}; not checked: ${JSON.stringify(Object.fromEntries(contractSkipped))}`,
        `  failures: ${failures.length}`,
      ].join('\n'),
    );
    const byProblem = new Map<string, Failure[]>();
    for (const failure of failures) {
      const kind = `${failure.fuzzCase.name}: ${failure.problem.slice(0, 60)}`;
      byProblem.set(kind, [...(byProblem.get(kind) ?? []), failure]);
    }
    const details = [...byProblem.values()].map((group) => `${group.length} x ${report(group[0]!)}`).join('\n\n');
    if (failures.length > 0) console.log(`bad-input HTTP fuzz failures (seed ${seed}), one example per kind:\n\n${details}`);

    expect(failures.length, `seed ${seed}: ${failures.length} requests answered wrongly; one example per kind:\n\n${details}`).toBe(0);
    // Most requests are for an operation of the API (the malformed orders are POST /v1/orders).
    expect(contractChecked).toBeGreaterThan(requestCount / 2);
    expect(elapsed).toBeLessThan(150_000);
    expect(waiters).toBe(0);
    expect(rssAfter - rssBefore, `RSS ${mebibytes(rssBefore)} -> ${mebibytes(rssAfter)}`).toBeLessThan(rssGrowthLimit);
  }, 240_000);

  it('writes exactly the accepted valid orders to orders.v1, each with one CREATED and one final record', async () => {
    expect(accepted.length).toBeGreaterThanOrEqual(Math.floor(requestCount / 50));
    const history = await system.orderHistory(accepted);
    const finals = new Map<string, number>();
    for (const id of accepted) {
      const states = history.get(id)!.map((order) => order.state);
      expect(states[0], id).toBe('CREATED');
      expect(states.filter((state) => state === 'VALIDATED' || state === 'FAILED'), `${id}: ${states.join(', ')}`).toHaveLength(1);
      expect(states, id).toHaveLength(2);
      count(finals as Map<string, number>, states[1]!);
    }
    // Nothing but those orders reached the topic: read it to its end and count.
    const topic = system.serdes[Topics.orders].topic;
    const reader = await TopicRecords.start(system.kafka, [topic], `${system.prefix}fuzz-count`);
    try {
      await reader.caughtUp();
      const wanted = new Set(accepted);
      const records = reader.of(topic);
      const strangers = records.filter((record) => !wanted.has(record.key?.toString('utf8') ?? ''));
      expect(strangers.map((record) => record.key?.toString('utf8'))).toEqual([]);
      expect(records).toHaveLength(2 * accepted.length);
    } finally {
      await reader.stop();
    }
    console.log(`bad-input HTTP fuzz: ${accepted.length} valid orders on orders.v1, final states ${JSON.stringify(Object.fromEntries(finals))}, ${2 * accepted.length} records in all`);
  }, 120_000);
});
