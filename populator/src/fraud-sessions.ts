import { retry } from '@ecosystem/platform';

/**
 * What the fraud service knows of each customer's current fraud session (its GET
 * /v1/fraud-sessions), so that a (re)started populator keeps honest customers under the
 * threshold from the sessions the system really holds, not from zero.
 */

/** A customer's session as the populator remembers it: the time of its latest order and its total. */
export interface SessionSeed {
  customerId: number;
  last: number;
  total: number;
}

/** The part of the fraud service's answer the populator reads. */
export interface FraudSessions {
  sessionGapMs: number;
  threshold: number;
  sessions: SessionSeed[];
}

export type FraudSessionsResult = { ok: true; sessions: FraudSessions } | { ok: false; reason: string };

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Reads the fraud service's answer (`{sessionGapMs, threshold, sessions: [{customerId, end, total}]}`), refusing what is not one. */
export function parseFraudSessions(body: unknown): FraudSessions {
  if (typeof body !== 'object' || body === null) throw new Error('the answer is not a JSON object');
  const { sessionGapMs, threshold, sessions } = body as Record<string, unknown>;
  if (!isNumber(sessionGapMs) || !isNumber(threshold) || !Array.isArray(sessions)) throw new Error('the answer has no sessionGapMs, threshold and sessions');
  return {
    sessionGapMs,
    threshold,
    sessions: sessions.map((row: unknown, index) => {
      const { customerId, end, total } = (typeof row === 'object' && row !== null ? row : {}) as Record<string, unknown>;
      if (!isNumber(customerId) || !isNumber(end) || !isNumber(total)) throw new Error(`session ${index} has no numeric customerId, end and total`);
      return { customerId, last: end, total };
    }),
  };
}

/** The fraud service is not there yet (not listening, no answer in time, or 503 while it starts): asked again. */
class NotYetAnswering extends Error {}

/**
 * GET /v1/fraud-sessions of the fraud service. A service that is starting (503, or not
 * listening yet) is asked again until `waitMs` has passed; then the reason is returned.
 */
export async function fetchFraudSessions(fraudUrl: string, { waitMs = 5_000, retryMs = 500, headers = {} as Record<string, string> } = {}): Promise<FraudSessionsResult> {
  let response: Response;
  try {
    response = await retry(
      async () => {
        const answer = await fetch(`${fraudUrl}/v1/fraud-sessions`, { headers, signal: AbortSignal.timeout(3_000) }).catch((error: unknown) => {
          // fetch's own message is "fetch failed": the cause says why.
          throw new NotYetAnswering(error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error));
        });
        if (answer.status === 503) throw new NotYetAnswering('answered 503');
        return answer;
      },
      { retriable: (error) => error instanceof NotYetAnswering, initialDelayMs: retryMs, maxDelayMs: retryMs, timeoutMs: waitMs },
    );
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  if (!response.ok) return { ok: false, reason: `answered ${response.status}` };
  try {
    return { ok: true, sessions: parseFraudSessions(await response.json()) };
  } catch (error) {
    return { ok: false, reason: `not an answer of the fraud service: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The one line the populator prints about where its sessions come from. */
export function describeSeeding(result: FraudSessionsResult, fraudUrl: string, mix: { fraudThreshold: number; sessionGapMs: number; customers: readonly number[] }): string {
  if (!result.ok) return `fraud sessions: ${fraudUrl} did not answer (${result.reason}); starting with none remembered`;
  const known = new Set(mix.customers);
  const ours = result.sessions.sessions.filter((session) => known.has(session.customerId));
  const largest = ours.reduce((most, session) => Math.max(most, session.total), 0);
  const differs = [
    result.sessions.threshold !== mix.fraudThreshold ? `threshold ${result.sessions.threshold}, not --fraud-threshold ${mix.fraudThreshold}` : '',
    result.sessions.sessionGapMs !== mix.sessionGapMs ? `session gap ${result.sessions.sessionGapMs / 1_000} s, not --fraud-session-gap ${mix.sessionGapMs / 1_000}` : '',
  ].filter(Boolean);
  return (
    `fraud sessions: ${ours.length} customers' current sessions from ${fraudUrl}` +
    (ours.length > 0 ? ` (largest total ${Math.round(largest * 100) / 100})` : '') +
    (differs.length > 0 ? `; warning: the fraud service has ${differs.join(' and ')}` : '')
  );
}
