import { z } from 'zod';
import type { FraudFlag, Polled, StockRow } from './snapshot.ts';

const stockRows = z.array(z.object({ product: z.string(), stock: z.number(), reserved: z.number() }));
const fraudFlags: z.ZodType<FraudFlag[]> = z.array(
  z.object({
    customerId: z.number(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    counts: z.number(),
    windowStart: z.number(),
    windowEnd: z.number(),
  }),
);

/** Why a request failed, with the cause fetch hides behind "fetch failed" (ECONNREFUSED...). */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}

/** GET a JSON document and check its shape: another service's answer is input like any other. */
export async function fetchJson<Schema extends z.ZodType>(url: string, schema: Schema, timeoutMs = 1_500): Promise<z.infer<Schema>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const parsed = schema.safeParse(await response.json());
  if (!parsed.success) throw new Error(`${url} answered an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

export function fetchStock(inventoryUrl: string): Promise<StockRow[]> {
  return fetchJson(new URL('/v1/stock', inventoryUrl).toString(), stockRows);
}

export function fetchFraudFlags(enrichmentUrl: string, limit = 10): Promise<FraudFlag[]> {
  return fetchJson(new URL(`/fraud?limit=${limit}`, enrichmentUrl).toString(), fraudFlags);
}

/**
 * The latest answer of one source. A failed poll keeps the last good rows and says why they
 * may be old, so a service restarting shows as "unavailable" rather than as an empty table.
 */
export class Poller<Rows> {
  private latest: Polled<Rows>;
  private inFlight = false;

  constructor(
    private readonly fetchRows: () => Promise<Rows>,
    empty: Rows,
  ) {
    this.latest = { rows: empty, at: 0 };
  }

  get state(): Polled<Rows> {
    return this.latest;
  }

  async poll(now: () => number = Date.now): Promise<void> {
    // A slow source is not asked again before it answered.
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      this.latest = { rows: await this.fetchRows(), at: now() };
    } catch (error) {
      this.latest = { rows: this.latest.rows, at: this.latest.at, error: describeFetchError(error) };
    } finally {
      this.inFlight = false;
    }
  }
}

/**
 * When the sources are polled. Each poll costs the services work (the fraud flags are a scan of
 * a window store) and the broker a lag query, so the dashboard polls only while someone looks:
 * a page is open, or a client asked within the last two intervals. The first question after a
 * quiet spell polls at once (it is answered with the rows polled last).
 */
export class PollWhileWatched {
  private lastAsked = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: { intervalMs: number; pagesOpen: () => number; poll: () => Promise<unknown> },
  ) {}

  private watched(now: number): boolean {
    return this.options.pagesOpen() > 0 || now - this.lastAsked < 2 * this.options.intervalMs;
  }

  /** Someone asked for the rows (a page opening, a snapshot request). */
  asked(now = Date.now()): void {
    if (!this.watched(now)) void this.options.poll();
    this.lastAsked = now;
  }

  /** The interval passed: polls again if someone is still looking. */
  tick(now = Date.now()): void {
    if (this.watched(now)) void this.options.poll();
  }
}
