import { askInstance, HttpError } from '@ecosystem/platform';
import type { KafkaStreams, ReadOnlyWindowStore } from 'kstreams';
import type { FraudEngine } from './engine.ts';
import { newestFirst, type FraudCount, type FraudRow } from './rules.ts';
import { fraudCountsStore, fraudRowsOf } from './topology.ts';

/** Where an instance serves its own share of the fraud table to the other instances. */
export const instanceFraudPath = '/fraud/instance';

export interface LocalEngineOptions {
  streams: KafkaStreams;
  /** host:port this instance advertises to the group (and so appears as in `streams.endpoints()`). */
  endpoint: string;
  /** How long to wait for another instance's share. */
  peerTimeoutMs: number;
}

/**
 * The streams runtime computes the tables in this process. Each instance holds the windows of
 * the customers whose partitions it owns, so GET /fraud asks every other instance of the group
 * for its share and merges: the answer covers the whole table, or fails (503 while the group
 * rebalances, 502 when an instance does not answer) rather than silently covering a part.
 */
export class LocalFraudEngine implements FraudEngine {
  readonly kind = 'local';

  constructor(private readonly options: LocalEngineOptions) {}

  start(): Promise<void> {
    return this.options.streams.start();
  }

  get isReady(): boolean {
    return this.options.streams.isReady;
  }

  describe(): Record<string, unknown> {
    const { streams, endpoint } = this.options;
    return { engine: this.kind, endpoint, state: streams.state, tasks: streams.assignedTasks };
  }

  async fraud(limit: number): Promise<FraudRow[]> {
    this.assertReady();
    const peers = this.options.streams.endpoints().filter((endpoint) => endpoint !== this.options.endpoint);
    const shares = await Promise.all([this.instanceFraud(limit), ...peers.map((peer) => this.peerFraud(peer, limit))]);
    return newestFirst(shares.flat(), limit);
  }

  /** This instance's newest `limit` rows: the newest `limit` of the whole table are among the instances' shares. */
  async instanceFraud(limit: number): Promise<FraudRow[]> {
    this.assertReady();
    return fraudRowsOf(this.options.streams.localStores<ReadOnlyWindowStore<number, FraudCount>>(fraudCountsStore), limit);
  }

  close(): Promise<void> {
    return this.options.streams.close();
  }

  private assertReady(): void {
    if (!this.isReady) throw new HttpError(503, 'the fraud table is not ready (the instance is starting or rebalancing); retry', { state: this.options.streams.state });
  }

  private async peerFraud(peer: string, limit: number): Promise<FraudRow[]> {
    const body = await askInstance(peer, instanceFraudPath, { who: `instance ${peer} holding part of the fraud table`, timeoutMs: this.options.peerTimeoutMs, query: { limit: String(limit) } });
    const rows = parseFraudRows(body);
    if (!rows) throw new HttpError(502, `instance ${peer} answered rows of an unexpected shape`, { instance: peer });
    return rows;
  }
}

/** Another instance's answer, decoded: undefined unless it is an array of fraud rows. */
export function parseFraudRows(body: unknown): FraudRow[] | undefined {
  if (!Array.isArray(body)) return undefined;
  const rows: FraudRow[] = [];
  for (const item of body as unknown[]) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { customerId, firstName, lastName, counts, windowStart, windowEnd } = item as Record<string, unknown>;
    const whole = (value: unknown): value is number => Number.isSafeInteger(value);
    const name = (value: unknown): value is string | null => value === null || typeof value === 'string';
    if (!whole(customerId) || !name(firstName) || !name(lastName) || !whole(counts) || !whole(windowStart) || !whole(windowEnd)) return undefined;
    rows.push({ customerId, firstName, lastName, counts, windowStart, windowEnd });
  }
  return rows;
}
