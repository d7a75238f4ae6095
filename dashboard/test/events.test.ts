import net from 'node:net';
import { createHttpServer, createLogger, type HttpServer } from '@ecosystem/platform';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/eventually.ts';
import { EventHub } from '../src/events.ts';
import { dashboardRoutes } from '../src/routes.ts';
import type { Snapshot } from '../src/snapshot.ts';

let server: HttpServer | undefined;
const sockets: net.Socket[] = [];

async function serve(hub: EventHub): Promise<number> {
  const routes = dashboardRoutes({ events: hub, snapshot: () => ({ at: 0 }) as Snapshot, ordersUrl: 'http://127.0.0.1:1', placed: () => undefined });
  server = createHttpServer({ logger: createLogger('events-test', 'silent'), router: routes, isReady: () => true });
  return server.listen(0);
}

/** A page's GET /events over a raw socket, whose reading the test controls. */
function openStream(port: number): { socket: net.Socket; received: () => string } {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  return { socket, received: () => text };
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

describe('the event stream of the dashboard', () => {
  it('keeps only the newest event of each kind for a page that does not read, instead of buffering every one', async () => {
    const hub = new EventHub();
    const port = await serve(hub);
    const page = openStream(port);
    await eventually(() => page.received().includes('event: snapshot'), 'the first snapshot');
    page.socket.pause();
    // 200 snapshots of 100 KB each: 20 MB if every one were kept for this page.
    const padding = 'x'.repeat(100_000);
    for (let sequence = 1; sequence <= 200; sequence += 1) hub.send('snapshot', { sequence, padding });
    hub.send('orders', { sequence: 'orders' });
    page.socket.resume();
    await eventually(() => page.received().includes('"sequence":200,'), 'the newest snapshot', 10_000);
    await eventually(() => page.received().includes('"sequence":"orders"'), 'the orders event', 10_000);
    const snapshots = page.received().split('event: snapshot').length - 1;
    // The first snapshot, one written before the connection filled up, and the newest.
    expect(snapshots).toBeLessThanOrEqual(4);
  });

  it('feeds at most DASHBOARD_MAX_CLIENTS pages, answering one more 503 with Retry-After', async () => {
    const hub = new EventHub(2);
    const port = await serve(hub);
    const pages = [openStream(port), openStream(port)];
    for (const page of pages) await eventually(() => page.received().includes('event: snapshot'), 'a page fed');
    const refused = await fetch(`http://127.0.0.1:${port}/events`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(await refused.json()).toMatchObject({ reason: 'too many clients' });
    pages[0]!.socket.destroy();
    await eventually(() => hub.size === 1, 'the closed page to be forgotten');
    const third = openStream(port);
    await eventually(() => third.received().includes('event: snapshot'), 'a page fed once there is room');
  });
});
