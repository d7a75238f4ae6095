/**
 * The broker's request log (`kafka.request.logger` at DEBUG: one "Completed request" line with
 * the request's header, body summary and answer), read to tell what each system asked of the
 * broker: requests by API, transaction markers and bytes written, per topic. Pure functions over
 * log lines; broker-cost.ts runs the comparison that produces them.
 */

/** What one system's run asked of the broker. */
export interface RequestTally {
  /** Requests by API name (PRODUCE, FETCH, END_TXN...), including those the broker sent itself on the run's behalf (WRITE_TXN_MARKERS, the transaction verification's ADD_PARTITIONS_TO_TXN). */
  requests: Map<string, number>;
  /** Transaction markers written per topic (one per partition a transaction touched, at its end). */
  markers: Map<string, number>;
  /** Record batch bytes produced per topic. */
  bytes: Map<string, number>;
  /** Produce requests' partition batches per topic. */
  batches: Map<string, number>;
}

interface CompletedRequest {
  requestHeader?: { requestApiKeyName?: string; clientId?: string };
  request?: {
    markers?: Array<{ topics?: Array<{ name?: string; partitionIndexes?: number[] }> }>;
    topicData?: Array<{ name?: string; partitionData?: Array<{ recordsSizeInBytes?: number }> }>;
  };
}

const marker = 'Completed request:';
const suffix = ' (kafka.request.logger)';

/** The request a log line records, or undefined for any other line. */
export function parseRequestLine(line: string): CompletedRequest | undefined {
  const start = line.indexOf(marker);
  if (start < 0) return undefined;
  const end = line.lastIndexOf(suffix);
  try {
    return JSON.parse(line.slice(start + marker.length, end > start ? end : undefined)) as CompletedRequest;
  } catch {
    return undefined;
  }
}

export function emptyTally(): RequestTally {
  return { requests: new Map(), markers: new Map(), bytes: new Map(), batches: new Map() };
}

function add(map: Map<string, number>, key: string, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

/**
 * Adds a request to the tally of the run it belongs to. `runOf` names the run from the line's
 * text (its client id, transactional id, group or topic names carry the run's topic prefix);
 * lines of no run are left out. Topic names lose the run's prefix (`topicName`), so runs compare.
 */
export function tallyLine(line: string, runOf: (line: string) => string | undefined, tallies: Map<string, RequestTally>, topicName: (topic: string) => string = (topic) => topic): void {
  const run = runOf(line);
  if (run === undefined) return;
  const request = parseRequestLine(line);
  const api = request?.requestHeader?.requestApiKeyName;
  if (!request || !api) return;
  let tally = tallies.get(run);
  if (!tally) {
    tally = emptyTally();
    tallies.set(run, tally);
  }
  add(tally.requests, api, 1);
  for (const { topics = [] } of request.request?.markers ?? []) {
    for (const { name, partitionIndexes = [] } of topics) if (name) add(tally.markers, topicName(name), partitionIndexes.length);
  }
  if (api === 'PRODUCE') {
    for (const { name, partitionData = [] } of request.request?.topicData ?? []) {
      if (!name) continue;
      add(tally.batches, topicName(name), partitionData.length);
      for (const { recordsSizeInBytes = 0 } of partitionData) add(tally.bytes, topicName(name), recordsSizeInBytes);
    }
  }
}

export function total(map: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const value of map.values()) sum += value;
  return sum;
}
