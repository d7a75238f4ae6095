import { Topics, type TopicSerdes } from '@ecosystem/avro';
import { followTopics, type KafkaClients, type TopicReader } from 'kstreams';
import { percentile } from './bench/stats.ts';

/** How long after the order counters last moved fraud flags, emails and documents are still asked for. */
const downstreamSettleMs = 20_000;

interface Counters {
  created: number;
  validated: number;
  failed: number;
}

/**
 * The one-screen summary of `npm start`: order states seen on orders.v1 (counted from the
 * moment the summary started), rates over the last 10 s, created -> final latency as seen
 * on the topic, fraud flags, emails and Elasticsearch documents from the services' own
 * endpoints. Redraws in place on a terminal when something changed; prints a line every 10 s
 * otherwise.
 */
export class SystemSummary {
  private readonly totals: Counters = { created: 0, validated: 0, failed: 0 };
  /** The order counters at the last poll, and when they last moved. */
  private countersSeen = '';
  private countersMovedAt = 0;
  private readonly history: Array<{ at: number } & Counters> = [];
  private readonly createdAt = new Map<string, number>();
  private latencies: number[] = [];
  private external: { fraud?: number; emails?: number; documents?: number; ready: Record<string, boolean> } = { ready: {} };
  private timer: NodeJS.Timeout | undefined;
  private reader: TopicReader | undefined;
  private readonly startedAt = new Date().toTimeString().slice(0, 5);
  readonly warnings: string[] = [];

  constructor(
    private readonly kafka: KafkaClients,
    private readonly serdes: TopicSerdes,
    private readonly endpoints: { services: Array<{ name: string; port: number }>; elasticsearch: string; ordersIndex: string },
  ) {}

  async start(): Promise<void> {
    const orders = this.serdes[Topics.orders];
    // From the end, by offset: the summary counts what happens from now on and needs no consumer group.
    this.reader = await followTopics(this.kafka, [orders.topic], { from: 'end', name: `summary-${process.pid}` }, async (_topic, _partition, records) => {
      for (const record of records) {
        if (!record.value || !record.key) continue;
        const order = await orders.value.deserialize(record.value).catch(() => undefined);
        if (!order) continue;
        const now = Date.now();
        if (order.state === 'CREATED') {
          this.totals.created += 1;
          this.createdAt.set(order.id, now);
        } else if (order.state === 'VALIDATED' || order.state === 'FAILED') {
          this.totals[order.state === 'VALIDATED' ? 'validated' : 'failed'] += 1;
          const created = this.createdAt.get(order.id);
          if (created !== undefined) {
            this.latencies.push(now - created);
            this.createdAt.delete(order.id);
          }
        }
      }
    });
    const interactive = Boolean(process.stdout.isTTY);
    let ticks = 0;
    let shown = '';
    // The counters come from the topic as they change; the services' endpoints are asked every
    // 5 s; the screen is drawn again only when what it shows changed: an idle system costs nothing.
    const tick = async () => {
      ticks += 1;
      if (ticks % 5 === 1) await this.poll();
      this.history.push({ at: Date.now(), ...this.totals });
      while (this.history.length > 11) this.history.shift();
      const screen = this.render();
      if (interactive && screen !== shown) process.stdout.write(`\u001b[H\u001b[2J${screen}\n`);
      else if (!interactive && ticks % 10 === 0 && screen !== shown) console.log(screen.split('\n').slice(1, 4).join(' | '));
      shown = screen;
    };
    this.timer = setInterval(() => void tick(), 1_000);
  }

  private async poll(): Promise<void> {
    const json = async <T>(url: string): Promise<T | undefined> => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(800) });
        return response.ok ? ((await response.json()) as T) : undefined;
      } catch {
        return undefined;
      }
    };
    const ready: Record<string, boolean> = {};
    await Promise.all(this.endpoints.services.map(async ({ name, port }) => (ready[name] = (await json(`http://127.0.0.1:${port}/ready`)) !== undefined)));
    // Fraud flags, emails and documents change only while orders flow (and for the few seconds
    // emails and documents trail the verdicts), and the fraud query reads a whole window store:
    // an idle system is not asked for them.
    const seen = `${this.totals.created}/${this.totals.validated}/${this.totals.failed}`;
    if (seen !== this.countersSeen) [this.countersSeen, this.countersMovedAt] = [seen, Date.now()];
    if (Date.now() - this.countersMovedAt > downstreamSettleMs && this.external.fraud !== undefined) {
      this.external = { ...this.external, ready };
      return;
    }
    const enrichment = this.endpoints.services.find((service) => service.name === 'order-enrichment');
    const email = this.endpoints.services.find((service) => service.name === 'email-service');
    const fraud = enrichment ? await json<unknown[]>(`http://127.0.0.1:${enrichment.port}/fraud?limit=1000`) : undefined;
    const emails = email ? await json<{ sent: number }>(`http://127.0.0.1:${email.port}/v1/emails/count`) : undefined;
    const documents = await json<{ count: number }>(`${this.endpoints.elasticsearch}/${this.endpoints.ordersIndex}/_count`);
    this.external = { ready, ...(fraud ? { fraud: fraud.length } : {}), ...(emails ? { emails: emails.sent } : {}), ...(documents ? { documents: documents.count } : {}) };
  }

  render(): string {
    const first = this.history[0];
    const last = this.history[this.history.length - 1];
    const seconds = first && last && last.at > first.at ? (last.at - first.at) / 1_000 : 0;
    const rate = (key: keyof Counters) => (seconds > 0 && first && last ? ((last[key] - first[key]) / seconds).toFixed(1) : '-');
    const sorted = [...this.latencies].sort((left, right) => left - right);
    if (this.latencies.length > 5_000) this.latencies = this.latencies.slice(-5_000);
    const latency = (fraction: number) => (sorted.length ? `${percentile(sorted, fraction)} ms` : '-');
    const services = Object.entries(this.external.ready).map(([name, up]) => `${up ? '\u001b[32m●\u001b[0m' : '\u001b[31m○\u001b[0m'} ${name}`);
    const dashboard = this.endpoints.services.find((service) => service.name === 'dashboard');
    return [
      `order ecosystem — since ${this.startedAt}   (Ctrl-C stops everything; logs in .local/logs/)${dashboard ? `   live dashboard: http://localhost:${dashboard.port}` : ''}`,
      `orders   posted ${this.totals.created}   validated ${this.totals.validated}   failed ${this.totals.failed}`,
      `per sec  posted ${rate('created')}   validated ${rate('validated')}   failed ${rate('failed')}`,
      `latency  created -> final  p50 ${latency(0.5)}   p99 ${latency(0.99)}   (${sorted.length} orders)`,
      `fraud flags ${this.external.fraud ?? '-'}   emails sent ${this.external.emails ?? '-'}   Elasticsearch documents ${this.external.documents ?? '-'}`,
      '',
      ...services,
      ...(this.warnings.length ? ['', 'recent warnings:', ...this.warnings.slice(-5)] : []),
    ].join('\n');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reader?.close().catch(() => undefined);
  }
}
