import { PassThrough } from 'node:stream';
import { HttpError } from '@ecosystem/platform';
import type { Context } from 'koa';

/** One server-sent event: JSON on a single `data:` line (JSON.stringify never emits a newline). */
export function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

interface Client {
  stream: PassThrough;
  /** True while the connection has not taken what was written: new events wait in `held`. */
  blocked: boolean;
  /** The newest frame of each event name not yet written to a blocked client. */
  held: Map<string, string>;
}

/**
 * The open GET /events connections, and sending an event to each. Every event is a whole state
 * (a snapshot, the order lists), so a client that reads slowly misses nothing by getting only
 * the newest of each kind: while its connection is full, newer events replace the older ones
 * instead of piling up in memory, and what it holds is bounded by one frame per event name.
 */
export class EventHub {
  private readonly clients = new Set<Client>();

  constructor(private readonly maxClients = Number.POSITIVE_INFINITY) {}

  get size(): number {
    return this.clients.size;
  }

  /** Turns the request into an event stream; `first` is sent to this client only, at once. Beyond `maxClients`: 503. */
  attach(ctx: Context, first: string): void {
    if (this.clients.size >= this.maxClients) {
      ctx.set('Retry-After', '10');
      throw new HttpError(503, `the dashboard already feeds ${this.clients.size} pages, its most; retry later`, { reason: 'too many clients' });
    }
    // The stream stays open for as long as the page does.
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    ctx.type = 'text/event-stream';
    const client: Client = { stream: new PassThrough(), blocked: false, held: new Map() };
    client.stream.on('drain', () => this.release(client));
    this.write(client, `retry: 2000\n\n${first}`);
    this.clients.add(client);
    ctx.req.once('close', () => {
      this.clients.delete(client);
      client.held.clear();
      client.stream.end();
    });
    ctx.status = 200;
    ctx.body = client.stream;
  }

  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const frame = formatEvent(event, data);
    for (const client of this.clients) {
      if (client.blocked) client.held.set(event, frame);
      else this.write(client, frame);
    }
  }

  close(): void {
    for (const client of this.clients) client.stream.end();
    this.clients.clear();
  }

  private write(client: Client, frame: string): void {
    if (!client.stream.write(frame)) client.blocked = true;
  }

  private release(client: Client): void {
    client.blocked = false;
    const held = [...client.held.values()];
    client.held.clear();
    for (const frame of held) this.write(client, frame);
  }
}
