import { Client, errors } from '@elastic/elasticsearch';
import { elasticsearchConnection, type ElasticsearchConfig } from '@ecosystem/platform';
import type { ElasticsearchFieldType } from './jobs.ts';

/**
 * The Elasticsearch client of a configuration (ELASTICSEARCH_URL, its user and password or API
 * key, its CA). The workers retry on their own terms (forever, with backoff), so the client
 * does not retry.
 */
export function createElasticsearchClient(config: ElasticsearchConfig): Client {
  return new Client({ ...elasticsearchConnection(config), maxRetries: 0, requestTimeout: 30_000 });
}

/** Creates `index` with the explicit mapping when it does not exist; true when it created it. */
export async function ensureIndex(client: Client, index: string, mapping: Record<string, ElasticsearchFieldType>): Promise<boolean> {
  if (await client.indices.exists({ index })) return false;
  const properties = Object.fromEntries(Object.entries(mapping).map(([field, type]) => [field, { type }]));
  try {
    await client.indices.create({ index, mappings: { properties } });
    return true;
  } catch (error) {
    // Another worker (or register-connectors) created it in the meantime: that is the same index.
    if (error instanceof errors.ResponseError && error.body?.error?.type === 'resource_already_exists_exception') return false;
    throw error;
  }
}

/** Elasticsearch away, overloaded (429) or failing (5xx): the same request may well succeed later. */
export function isTransientElasticsearchError(error: unknown): boolean {
  if (error instanceof errors.ResponseError) return isTransientStatus(error.statusCode ?? 0);
  return error instanceof errors.ConnectionError || error instanceof errors.TimeoutError || error instanceof errors.NoLivingConnectionsError;
}

export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * What one item of a bulk answer means for its record:
 * - `written`: the document now holds it (or a delete found nothing to delete);
 * - `superseded`: the document already holds this or a later offset (a replay): nothing to do;
 * - `retry`: a transient failure of this item;
 * - `rejected`: Elasticsearch refuses this document for good: it goes to the dead-letter topic.
 */
export type BulkItemOutcome = 'written' | 'superseded' | 'retry' | 'rejected';

export function bulkItemOutcome(status: number, errorType: string | undefined): BulkItemOutcome {
  if (status >= 200 && status < 300) return 'written';
  if (status === 409 && errorType === 'version_conflict_engine_exception') return 'superseded';
  if (status === 404 && errorType === undefined) return 'written';
  if (isTransientStatus(status)) return 'retry';
  return 'rejected';
}
