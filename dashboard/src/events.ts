import { PassThrough } from 'node:stream';
import type { Context } from 'koa';

/** One server-sent event: JSON on a single `data:` line (JSON.stringify never emits a newline). */
export function formatEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The open GET /events connections, and sending an event to each. */
export class EventHub {
  private readonly clients = new Set<PassThrough>();

  get size(): number {
    return this.clients.size;
  }

  /** Turns the request into an event stream; `first` is sent to this client only, at once. */
  attach(ctx: Context, first: string): void {
    // The stream stays open for as long as the page does.
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    ctx.type = 'text/event-stream';
    const stream = new PassThrough();
    stream.write(`retry: 2000\n\n${first}`);
    this.clients.add(stream);
    ctx.req.once('close', () => {
      this.clients.delete(stream);
      stream.end();
    });
    ctx.status = 200;
    ctx.body = stream;
  }

  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const frame = formatEvent(event, data);
    for (const client of this.clients) client.write(frame);
  }

  close(): void {
    for (const client of this.clients) client.end();
    this.clients.clear();
  }
}
