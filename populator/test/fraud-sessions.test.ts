import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeSeeding, fetchFraudSessions, parseFraudSessions, type SessionSeed } from '../src/fraud-sessions.ts';
import { defaultMix, honestSessionShare, OrderGenerator, type OrderMix } from '../src/orders.ts';
import { seeded } from './seeded.ts';

const hour = 60 * 60 * 1_000;
const answer = (sessions: Array<{ customerId: number; end: number; total: number }>, extra: Record<string, unknown> = {}) => ({
  asOf: 0,
  sessionGapMs: hour,
  threshold: 2_000,
  tasks: ['1_0', '1_1', '1_2'],
  sessions: sessions.map((session) => ({ start: session.end - 1_000, lastOrderId: 'o', ...session })),
  ...extra,
});

describe("the fraud service's sessions", () => {
  it('are read from its answer as the time of the latest order and the total, and a wrong answer is refused', () => {
    expect(parseFraudSessions(answer([{ customerId: 4, end: 1_000, total: 12.5 }]))).toEqual({ sessionGapMs: hour, threshold: 2_000, sessions: [{ customerId: 4, last: 1_000, total: 12.5 }] });
    expect(() => parseFraudSessions([])).toThrow(/no sessionGapMs/);
    expect(() => parseFraudSessions(answer([{ customerId: 4, end: 1_000, total: 'x' as unknown as number }]))).toThrow('session 0 has no numeric customerId, end and total');
  });

  it('are said in one line: how many, the largest, and a threshold or gap that differs from the mix', () => {
    const url = 'http://127.0.0.1:8102';
    const ok = (sessions: SessionSeed[], threshold = 2_000) => ({ ok: true as const, sessions: { sessionGapMs: hour, threshold, sessions } });
    expect(describeSeeding(ok([{ customerId: 1, last: 0, total: 612.3 }, { customerId: 2, last: 0, total: 7 }, { customerId: 5000, last: 0, total: 1_999 }]), url, defaultMix)).toBe(
      "fraud sessions: 2 customers' current sessions from http://127.0.0.1:8102 (largest total 612.3)",
    );
    expect(describeSeeding(ok([], 500), url, defaultMix)).toBe("fraud sessions: 0 customers' current sessions from http://127.0.0.1:8102; warning: the fraud service has threshold 500, not --fraud-threshold 2000");
    expect(describeSeeding({ ok: false, reason: 'connect ECONNREFUSED 127.0.0.1:8102' }, url, defaultMix)).toBe(
      'fraud sessions: http://127.0.0.1:8102 did not answer (connect ECONNREFUSED 127.0.0.1:8102); starting with none remembered',
    );
  });
});

describe('fetching the sessions', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  async function serve(answers: Array<[number, unknown]>): Promise<string> {
    server = createServer((_request, response) => {
      const [status, body] = answers.length > 1 ? answers.shift()! : answers[0]!;
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('asks again while the service is starting (503), then takes its answer', async () => {
    const url = await serve([[503, { error: 'not ready' }], [503, { error: 'not ready' }], [200, answer([{ customerId: 1, end: 5, total: 700 }])]]);
    expect(await fetchFraudSessions(url, { retryMs: 10 })).toEqual({ ok: true, sessions: { sessionGapMs: hour, threshold: 2_000, sessions: [{ customerId: 1, last: 5, total: 700 }] } });
  });

  it('gives up with the reason when the service does not answer, is not one, or stays unready', async () => {
    const closed = await serve([[200, {}]]);
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    expect(await fetchFraudSessions(closed, { waitMs: 100, retryMs: 20 })).toEqual({ ok: false, reason: expect.stringMatching(/ECONNREFUSED/) });
    expect(await fetchFraudSessions(await serve([[200, { hello: 1 }]]), { waitMs: 100 })).toEqual({ ok: false, reason: expect.stringMatching(/^not an answer of the fraud service/) });
  });

  it('gives up on 404 at once, and on 503 after waiting', async () => {
    const url = await serve([[404, {}]]);
    expect(await fetchFraudSessions(url)).toEqual({ ok: false, reason: 'answered 404' });
    await new Promise((resolve) => server!.close(resolve));
    const unready = await serve([[503, {}]]);
    const started = Date.now();
    expect(await fetchFraudSessions(unready, { waitMs: 200, retryMs: 50 })).toEqual({ ok: false, reason: 'answered 503' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});

/** The fraud service's sessions, kept as it keeps them: per customer, orders less than the gap apart. */
class FraudService {
  readonly sessions = new Map<number, { last: number; total: number }>();
  failed = 0;
  constructor(private readonly mix: OrderMix) {}
  take(customerId: number, value: number, at: number): void {
    const session = this.sessions.get(customerId);
    const total = (session && at - session.last < this.mix.sessionGapMs ? session.total : 0) + value;
    this.sessions.set(customerId, { last: at, total });
    if (total >= this.mix.fraudThreshold) this.failed += 1;
  }
  /** What GET /v1/fraud-sessions answers at `now`. */
  current(now: number): SessionSeed[] {
    return [...this.sessions].filter(([, session]) => now - session.last < this.mix.sessionGapMs).map(([customerId, session]) => ({ customerId, ...session }));
  }
}

describe('a populator restarted within the fraud sessions', () => {
  // Few customers, so that the busiest sessions fill within a run: 4 runs of 800 orders at 30/s
  // over 99 honest customers, about half of what their sessions can take under the share.
  const mix: OrderMix = { ...defaultMix, customers: Array.from({ length: 100 }, (_, index) => index + 1), fraudsters: 1, fraudShare: 0 };

  function restarts(seedFromService: boolean): { failed: number; largest: number } {
    const service = new FraudService(mix);
    let now = Date.parse('2026-01-01T00:00:00Z');
    for (let run = 0; run < 4; run += 1) {
      const generator = new OrderGenerator(mix, seeded(run + 1), () => now);
      if (seedFromService) generator.seedSessions(service.current(now));
      for (let order = 0; order < 800; order += 1) {
        const { customerId, quantity, price } = generator.next();
        service.take(customerId, quantity * price, now);
        now += 1_000 / 30;
      }
      now += 5_000; // the restart
    }
    return { failed: service.failed, largest: Math.max(...[...service.sessions.values()].map((session) => session.total)) };
  }

  it('keeps every honest session under its share of the threshold when it learns the sessions at start', () => {
    const { failed, largest } = restarts(true);
    expect(failed).toBe(0);
    expect(largest).toBeLessThan(mix.fraudThreshold * honestSessionShare);
  });

  it('lets honest customers reach the threshold when it starts from none (what the seeding prevents)', () => {
    expect(restarts(false).failed).toBeGreaterThan(0);
  });
});
