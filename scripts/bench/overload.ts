/**
 * The overload step of the benchmark: orders offered open loop at a rate above what the system
 * carries, for a while, then at a gentle rate to see how soon full service is back. What
 * counts is that the API refuses what it cannot carry, quickly (503 + Retry-After), and that
 * the orders it accepted still reach their final state fast.
 */
import { randomUUID } from 'node:crypto';
import { productSymbols } from '@ecosystem/avro';
import { authorizationHeaders } from '@ecosystem/platform';
import { scrape, sumOf, type MetricFamily } from '../../test/support/prometheus.ts';
import type { FinalStateWatcher } from './load.ts';
import { summarize, type LatencySummary } from './stats.ts';

/** One POST, in performance.now() milliseconds. */
export interface OverloadRequest {
  phase: 'burst' | 'recovery';
  sentAt: number;
  answeredAt?: number;
  status?: number;
  /** No answer: why (a refused or reset connection, no answer within the client's timeout). */
  failure?: string;
  /** The `error` of a 503 answer. */
  refusedBecause?: string;
  finalAt?: number;
  state?: string;
}

export interface OverloadResult {
  offered: number;
  offeredPerSecond: number;
  accepted: number;
  refused: number;
  /** Answers other than 201 and 503, by status. */
  otherStatuses: Record<string, number>;
  connectionErrors: number;
  /** The connection errors by cause, and the refusals by the reason the API gave. */
  failures: Record<string, number>;
  refusalReasons: Record<string, number>;
  /** POST -> 503, as the client saw it (its own queueing and the kernel's included). */
  refusal: LatencySummary;
  /**
   * The same as the orders service timed it, from the request's arrival to its answer: the
   * upper bounds of the histogram buckets (http_request_duration_seconds) holding the median
   * and the 99th percentile, in ms, by status of POST /v1/orders; null without such answers.
   */
  serverSide: Record<string, { count: number; p50AtMostMs: number | null; p99AtMostMs: number | null }>;
  /** POST -> 201. */
  acceptance: LatencySummary;
  /** POST -> final state, of the accepted orders. */
  acceptedToFinal: LatencySummary;
  acceptedWithoutFinal: number;
  recovery: {
    offered: number;
    accepted: number;
    refused: number;
    /** From the end of the burst to the first order accepted in the recovery phase; null when none was. */
    firstAcceptedMs: number | null;
    /** From the end of the burst to the first accepted order after which no POST was refused; null when refusals went on to the end. */
    fullServiceMs: number | null;
  };
}

function tally(values: Array<string | undefined>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) if (value !== undefined) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** The bucket bounds of POST /v1/orders answers with `status`, counted between two scrapes. */
function bucketsBetween(before: ReadonlyMap<string, MetricFamily>, after: ReadonlyMap<string, MetricFamily>, status: string): Array<{ le: number; count: number }> {
  const labels = { method: 'POST', route: '/v1/orders', status };
  const bounds = new Set<string>();
  for (const family of after.values()) for (const sample of family.samples) if (sample.name === 'http_request_duration_seconds_bucket' && sample.labels.status === status && sample.labels.route === labels.route) bounds.add(sample.labels.le!);
  return [...bounds]
    .map((le) => ({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: sumOf(after, 'http_request_duration_seconds_bucket', { ...labels, le }) - sumOf(before, 'http_request_duration_seconds_bucket', { ...labels, le }) }))
    .sort((left, right) => left.le - right.le);
}

/** The upper bound (ms) of the first bucket holding `fraction` of the answers (cumulative buckets), null for none. */
export function bucketQuantileMs(buckets: ReadonlyArray<{ le: number; count: number }>, fraction: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const bucket = buckets.find((candidate) => candidate.count >= fraction * total)!;
  return bucket.le * 1_000;
}

/** The server's view of the answers to POST /v1/orders between two scrapes of its /metrics, by status. */
export function serverSideLatencies(before: ReadonlyMap<string, MetricFamily>, after: ReadonlyMap<string, MetricFamily>): OverloadResult['serverSide'] {
  const result: OverloadResult['serverSide'] = {};
  for (const status of ['201', '503', '504']) {
    const buckets = bucketsBetween(before, after, status);
    const count = buckets.at(-1)?.count ?? 0;
    if (count > 0) result[status] = { count, p50AtMostMs: bucketQuantileMs(buckets, 0.5), p99AtMostMs: bucketQuantileMs(buckets, 0.99) };
  }
  return result;
}

/** The figures of an overload run, from what happened to each POST. */
export function summarizeOverload(requests: readonly OverloadRequest[], burstEndedAt: number, burstMs: number, serverSide: OverloadResult['serverSide'] = {}): OverloadResult {
  const burst = requests.filter((request) => request.phase === 'burst');
  const recovery = requests.filter((request) => request.phase === 'recovery');
  const latency = (request: OverloadRequest) => request.answeredAt! - request.sentAt;
  const accepted = burst.filter((request) => request.status === 201);
  const refused = burst.filter((request) => request.status === 503);
  const otherStatuses: Record<string, number> = {};
  for (const request of burst) if (request.status !== undefined && request.status !== 201 && request.status !== 503) otherStatuses[request.status] = (otherStatuses[request.status] ?? 0) + 1;
  const recoveryAccepted = recovery.filter((request) => request.status === 201);
  const lastRefusal = Math.max(-1, ...recovery.map((request, index) => (request.status === 201 ? -1 : index)));
  const steady = recovery.slice(lastRefusal + 1).find((request) => request.status === 201);
  const sinceBurst = (request: OverloadRequest | undefined) => (request ? Math.max(0, request.answeredAt! - burstEndedAt) : null);
  return {
    offered: burst.length,
    offeredPerSecond: burst.length / (burstMs / 1_000),
    accepted: accepted.length,
    refused: refused.length,
    otherStatuses,
    connectionErrors: burst.filter((request) => request.failure !== undefined).length,
    failures: tally(burst.map((request) => request.failure)),
    refusalReasons: tally(requests.map((request) => request.refusedBecause)),
    refusal: summarize(refused.map(latency)),
    serverSide,
    acceptance: summarize(accepted.map(latency)),
    acceptedToFinal: summarize(accepted.filter((request) => request.finalAt !== undefined).map((request) => request.finalAt! - request.sentAt)),
    acceptedWithoutFinal: [...accepted, ...recoveryAccepted].filter((request) => request.finalAt === undefined).length,
    recovery: {
      offered: recovery.length,
      accepted: recoveryAccepted.length,
      refused: recovery.filter((request) => request.status === 503).length,
      firstAcceptedMs: sinceBurst(recoveryAccepted[0]),
      fullServiceMs: sinceBurst(steady),
    },
  };
}

export interface OverloadOptions {
  baseUrl: string;
  apiToken?: string | undefined;
  watcher: FinalStateWatcher;
  rate: number;
  durationMs: number;
  recoveryRate: number;
  recoveryMs: number;
  /** How long to wait after the last POST for the final states of the accepted orders. */
  drainMs: number;
  stopped: () => boolean;
}

let orderNumber = 0;

export async function runOverload(options: OverloadOptions): Promise<OverloadResult> {
  const requests: OverloadRequest[] = [];
  const headers = { ...authorizationHeaders(options.apiToken), 'content-type': 'application/json' };
  const inFlight = new Set<Promise<void>>();

  const post = async (request: OverloadRequest) => {
    orderNumber += 1;
    const order = { id: randomUUID(), customerId: 2_000_000 + orderNumber, product: productSymbols[orderNumber % productSymbols.length]!, quantity: 1, price: 1 };
    // Tracked before the POST: the final state may arrive before the answer does.
    options.watcher.tracked.set(order.id, request);
    try {
      const response = await fetch(`${options.baseUrl}/v1/orders`, { method: 'POST', headers, body: JSON.stringify(order), signal: AbortSignal.timeout(30_000) });
      const body = await response.text();
      request.status = response.status;
      if (response.status === 503) request.refusedBecause = String((JSON.parse(body) as { error?: unknown }).error).replace(/\d+/g, 'N');
    } catch (error) {
      // fetch hides the network error in its cause (ECONNRESET, UND_ERR_SOCKET...).
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      request.failure = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.name) : String(cause);
    }
    request.answeredAt = performance.now();
    if (request.status !== 201) options.watcher.tracked.delete(order.id);
  };

  /** Open loop: a POST every 1/rate s, whatever the answers. */
  const offer = async (phase: OverloadRequest['phase'], rate: number, durationMs: number) => {
    const started = performance.now();
    for (let index = 0; performance.now() < started + durationMs && !options.stopped(); index += 1) {
      const wait = started + (index * 1_000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const request: OverloadRequest = { phase, sentAt: performance.now() };
      requests.push(request);
      const sending = post(request).finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }
    return performance.now() - started;
  };

  const metricsBefore = await scrape(options.baseUrl);
  const burstMs = await offer('burst', options.rate, options.durationMs);
  const burstEndedAt = performance.now();
  // Once the burst's last POST is answered (the recovery's first ones may be counted too): not holding up the recovery.
  const metricsAfter = Promise.all([...inFlight]).then(() => scrape(options.baseUrl));
  await offer('recovery', options.recoveryRate, options.recoveryMs);
  await Promise.all(inFlight);
  const drainEnds = performance.now() + options.drainMs;
  const waiting = () => requests.some((request) => request.status === 201 && request.finalAt === undefined);
  while (waiting() && performance.now() < drainEnds && !options.stopped()) await new Promise((resolve) => setTimeout(resolve, 100));
  options.watcher.tracked.clear();
  return summarizeOverload(requests, burstEndedAt, burstMs, serverSideLatencies(metricsBefore, await metricsAfter));
}
