import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { exchangeRaw, parseResponse, type HttpAnswer } from './support/raw-http.ts';
import { TestSystem } from './system.ts';

/**
 * The orders API refuses what it cannot carry, at once and with Retry-After, instead of
 * queueing without bound: here with room for one POST at a time and two orders on their way
 * to a final state (no pipeline runs, so none of them ever gets there).
 */
let system: TestSystem;
let port: number;

const orderBody = () => Buffer.from(JSON.stringify({ customerId: 1, product: 'JUMPERS', quantity: 1, price: 1 }));
const postHead = (body: Buffer) => `POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;

async function post(): Promise<{ answer: HttpAnswer; ms: number }> {
  const body = orderBody();
  const exchange = await exchangeRaw(port, { method: 'POST', target: '/v1/orders', headers: [['Host', `127.0.0.1:${port}`], ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]], body }, 15_000);
  if (!exchange.ok) throw new Error(`no answer: ${exchange.failure}`);
  return exchange;
}

/** A POST whose client sends half of the body and holds the rest until `finish`: it stays in flight until then. */
function heldPost(): { finish: () => Promise<HttpAnswer> } {
  const body = orderBody();
  const socket = net.connect(port, '127.0.0.1');
  let received = Buffer.alloc(0);
  const answered = new Promise<HttpAnswer>((resolve, reject) => {
    const check = (closed: boolean) => {
      const parsed = parseResponse(received, { head: false, closed });
      if (parsed.state === 'complete') resolve(parsed.answer);
      else if (closed) reject(new Error(`no complete answer to the held POST: ${received.toString()}`));
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      check(false);
    });
    socket.once('close', () => check(true));
  });
  socket.write(Buffer.concat([Buffer.from(postHead(body), 'latin1'), body.subarray(0, 10)]));
  return {
    async finish() {
      socket.write(body.subarray(10));
      try {
        return await answered;
      } finally {
        socket.destroy();
      }
    },
  };
}

beforeAll(async () => {
  system = await TestSystem.start({ services: ['orders-service'], environment: { MAX_POSTS_IN_FLIGHT: '1', MAX_PENDING_ORDERS: '2' } });
  port = Number(new URL(system.ordersUrl()).port);
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

describe('load shedding of the orders API', () => {
  it('answers a POST beyond the POSTs in flight 503 with Retry-After at once, and takes POSTs again once there is room', async () => {
    const held = heldPost();
    await eventually(async () => ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { postsInFlight?: number }).postsInFlight === 1, 'the held POST to be in flight', 10_000);
    const refused = await post();
    expect(refused.answer.status).toBe(503);
    expect(refused.answer.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.answer.body.toString())).toMatchObject({ reason: 'overloaded' });
    expect(refused.ms, 'the refusal comes at once').toBeLessThan(1_000);
    expect((await held.finish()).status).toBe(201);
  });

  it('answers 503 with Retry-After once too many of its orders are on their way to a final state', async () => {
    // The held POST of the test above is one pending order; this is the second, the limit.
    let accepted = 0;
    let refused: { answer: HttpAnswer; ms: number } | undefined;
    for (let attempt = 0; attempt < 5 && !refused; attempt += 1) {
      const exchange = await post();
      if (exchange.answer.status === 201) accepted += 1;
      else refused = exchange;
    }
    expect(accepted).toBeLessThanOrEqual(1);
    expect(refused?.answer.status).toBe(503);
    expect(refused!.answer.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused!.answer.body.toString())).toMatchObject({ reason: 'overloaded' });
    expect(refused!.ms).toBeLessThan(1_000);
  });
});
