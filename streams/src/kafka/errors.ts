/**
 * Kafka errors arrive nested (a failed request holds one error per partition, a retried one
 * every attempt's error). These helpers look through the whole tree.
 */
/** The failure and every error nested in it (`errors`, `cause`), each once. */
export function* nestedErrors(error: unknown, seen = new Set<unknown>()): Generator<Record<string, unknown>> {
  if (error === null || typeof error !== 'object' || seen.has(error)) return;
  seen.add(error);
  const record = error as Record<string, unknown>;
  yield record;
  if (Array.isArray(record.errors)) for (const inner of record.errors) yield* nestedErrors(inner, seen);
  if (record.cause) yield* nestedErrors(record.cause, seen);
}

/** The broker's error names (`CONCURRENT_TRANSACTIONS`, `PRODUCER_FENCED`...) anywhere in a failure. */
export function errorIds(error: unknown): Set<string> {
  const ids = new Set<string>();
  for (const entry of nestedErrors(error)) if (typeof entry.apiId === 'string') ids.add(entry.apiId);
  return ids;
}

/**
 * Answers saying another process owns what this producer or member was doing: a newer producer
 * with the same transactional id, or a newer generation of the group (KIP-447). The work in
 * hand must be dropped, not retried.
 */
const fencingIds = ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID', 'REBALANCE_IN_PROGRESS'];

export function isFencing(error: unknown): boolean {
  const ids = errorIds(error);
  return fencingIds.some((id) => ids.has(id));
}

/** Whether every error in the failure says that trying again may work (a leader moved, a coordinator is loading...). */
export function isRetriable(error: unknown): boolean {
  let sawKafkaError = false;
  for (const entry of nestedErrors(error)) {
    if (entry.canRetry === false) return false;
    if (entry.canRetry === true || entry.code === 'PLT_KFK_NETWORK' || entry.code === 'PLT_KFK_TIMEOUT') sawKafkaError = true;
  }
  return sawKafkaError;
}

/** Whether a failure passes by itself (a server that is down), as serdes mark theirs (`transient: true`). */
export function isTransient(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { transient?: unknown }).transient === true;
}
