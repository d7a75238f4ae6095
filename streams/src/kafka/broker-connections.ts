import { apiVersionsV3, ConnectionPool, findCoordinatorV6, FindCoordinatorKeyTypes, metadataV12, NetworkError, type API, type Connection } from '@platformatic/kafka';
import type { RuntimeLogger } from '../engine/logger.ts';
import { errorIds, nestedErrors } from './errors.ts';
import { connectionSecurity, type KafkaSecurity } from './security.ts';

/** A broker's id in the cluster (its `node.id`). */
export type NodeId = number;

/** Where a partition is led, as the last metadata said. */
export interface PartitionLeader {
  leader: NodeId;
  leaderEpoch: number;
}

export interface TopicMetadata {
  name: string;
  /** The topic's id (fetches name topics by id). */
  id: string;
  partitions: PartitionLeader[];
}

/**
 * Which connections a request travels on. The broker handles one request at a time per
 * connection, so a long poll or a join that waits for the rest of the group must not hold up
 * sends, commits or heartbeats: each role has connections of its own (as the Java clients do).
 */
export type ConnectionRole = 'fetch' | 'restore' | 'produce' | 'group' | 'admin';

export interface BrokerConnectionsOptions {
  clientId: string;
  /** host:port of the brokers to start from. */
  bootstrap: readonly string[];
  security?: KafkaSecurity;
  connectTimeoutMs?: number;
  /** How long a request may take; roles that wait on purpose (fetch, group) add their wait to it. */
  requestTimeoutMs?: number;
  /** Longest wait a request of the role makes the broker hold it (a fetch's max wait, a join's rebalance timeout). */
  longestWaitMs?: Partial<Record<ConnectionRole, number>>;
  /** Metadata older than this is read again before use (default 5 minutes, as the Java clients). */
  metadataMaxAgeMs?: number;
  logger: RuntimeLogger;
}

/** Answers saying the partition has moved (or is moving): read the metadata again and retry. */
const staleLeaderIds = new Set(['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'KAFKA_STORAGE_ERROR', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND']);
/** Answers saying the coordinator has moved or is starting: look it up again and retry. */
const staleCoordinatorIds = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']);

/** The request never got an answer: the connection failed or timed out (the broker may or may not have acted on it). */
export function isConnectionFailure(error: unknown): boolean {
  for (const entry of nestedErrors(error)) if (entry.code === NetworkError.code) return true;
  return false;
}

/** Whether a failure means the partition's leader should be looked up again. */
export function isStaleLeader(error: unknown): boolean {
  return isConnectionFailure(error) || [...errorIds(error)].some((id) => staleLeaderIds.has(id));
}

/** Whether a failure means the coordinator should be looked up again. */
export function isStaleCoordinator(error: unknown): boolean {
  return isConnectionFailure(error) || [...errorIds(error)].some((id) => staleCoordinatorIds.has(id));
}

/**
 * The runtime's connections to the cluster, on the client's protocol layer: a connection pool
 * per role, what the brokers support (API versions and finalized features, such as the
 * transaction protocol version), the cluster's metadata (brokers, topic ids, partition
 * leaders) and the coordinators of groups and transactional ids. Nothing here retries: callers
 * retry whole operations, and tell it what went stale (`forgetLeaders`, `forgetCoordinator`)
 * when an answer or a failed connection says so, so the next attempt looks it up again.
 */
export class BrokerConnections {
  private readonly pools = new Map<ConnectionRole, ConnectionPool>();
  private readonly bootstrap: Array<{ host: string; port: number }>;
  private brokers = new Map<NodeId, { host: string; port: number }>();
  private readonly topics = new Map<string, TopicMetadata & { readAt: number }>();
  private readonly coordinators = new Map<string, NodeId>();
  private versions: Map<number, number> | undefined;
  private readonly features = new Map<string, number>();
  private negotiation: Promise<void> | undefined;
  private metadataRead: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: BrokerConnectionsOptions) {
    this.bootstrap = options.bootstrap.map(parseAddress);
  }

  private pool(role: ConnectionRole): ConnectionPool {
    let pool = this.pools.get(role);
    if (!pool) {
      const { clientId, security, bootstrap, connectTimeoutMs = 5_000, requestTimeoutMs = 30_000, longestWaitMs = {} } = this.options;
      pool = new ConnectionPool(`${clientId}-${role}`, {
        connectTimeout: connectTimeoutMs,
        requestTimeout: requestTimeoutMs + (longestWaitMs[role] ?? 0),
        ...connectionSecurity(security, bootstrap),
      });
      this.pools.set(role, pool);
    }
    return pool;
  }

  private async connection(role: ConnectionRole, node: NodeId | 'any'): Promise<Connection> {
    if (this.closed) throw new NetworkError('The connections to Kafka are closed.', { canRetry: false });
    if (node === 'any') return this.pool(role).getFirstAvailable([...this.brokers.values(), ...this.bootstrap]);
    let address = this.brokers.get(node);
    if (!address) {
      await this.readMetadata([]);
      address = this.brokers.get(node);
    }
    if (!address) throw new NetworkError(`Broker ${node} is not among the known brokers.`, { canRetry: true, hasStaleMetadata: true });
    return this.pool(role).get(address);
  }

  /** Sends one request to a broker (`any`: the first one that answers) and waits for its answer. */
  async request<Arguments extends unknown[], Result>(role: ConnectionRole, node: NodeId | 'any', api: API<Arguments, Result>, ...args: Arguments): Promise<Result> {
    const connection = await this.connection(role, node);
    return api.async(connection, ...args);
  }

  /** What the brokers support, asked once: API versions and finalized features. */
  private negotiate(): Promise<void> {
    this.negotiation ??= (async () => {
      const connection = await this.connection('admin', 'any');
      const answer = await apiVersionsV3.api.async(connection, 'ecosystem-streams', '0.1.0');
      this.versions = new Map(answer.apiKeys.map(({ apiKey, maxVersion }) => [apiKey, maxVersion]));
      for (const { name, maxVersionLevel } of answer.finalizedFeatures ?? []) this.features.set(name, maxVersionLevel);
    })().catch((error: unknown) => {
      this.negotiation = undefined;
      throw error;
    });
    return this.negotiation;
  }

  /**
   * The newest of `implementations` (one API at several versions) that the brokers take. Throws
   * when they take none of them: the cluster is too old for the runtime.
   */
  async choose<Arguments extends unknown[], Result>(implementations: ReadonlyArray<API<Arguments, Result>>): Promise<API<Arguments, Result>> {
    await this.negotiate();
    const supported = this.versions!.get(implementations[0]!.key) ?? -1;
    const chosen = [...implementations].sort((left, right) => right.version - left.version).find((api) => api.version <= supported);
    if (!chosen) throw new Error(`the Kafka cluster does not support API ${implementations[0]!.key} at versions ${implementations.map((api) => api.version).join(', ')} (it supports up to ${supported}): Kafka 3.0 or newer is needed`);
    return chosen;
  }

  /** The finalized level of a cluster feature (`transaction.version`...), 0 when the cluster does not have it. */
  async featureLevel(name: string): Promise<number> {
    await this.negotiate();
    return this.features.get(name) ?? 0;
  }

  /** Topic ids and partition leaders; read from the cluster when missing, older than the maximum age, or `refresh`ed. */
  async metadata(topics: readonly string[], refresh = false): Promise<Map<string, TopicMetadata>> {
    const maxAge = this.options.metadataMaxAgeMs ?? 300_000;
    const now = Date.now();
    const wanted = refresh ? [...topics] : topics.filter((topic) => (this.topics.get(topic)?.readAt ?? -Infinity) < now - maxAge);
    if (wanted.length > 0) await this.readMetadata(wanted);
    const result = new Map<string, TopicMetadata>();
    for (const topic of topics) {
      const known = this.topics.get(topic);
      if (!known) throw new Error(`topic ${topic} does not exist`);
      result.set(topic, known);
    }
    return result;
  }

  /** One Metadata request at a time; callers that arrive meanwhile wait for it and read again if it did not cover them. */
  private async readMetadata(topics: readonly string[]): Promise<void> {
    while (this.metadataRead) await this.metadataRead.catch(() => undefined);
    const read = (async () => {
      const answer = await this.request('admin', 'any', metadataV12.api, topics.map((name) => ({ name })), false, false);
      this.brokers = new Map(answer.brokers.map(({ nodeId, host, port }) => [nodeId, { host, port }]));
      const readAt = Date.now();
      for (const topic of answer.topics) {
        if (topic.errorCode !== 0 || !topic.name) continue;
        const partitions: PartitionLeader[] = [];
        for (const partition of topic.partitions) partitions[partition.partitionIndex] = { leader: partition.leaderId, leaderEpoch: partition.leaderEpoch };
        this.topics.set(topic.name, { name: topic.name, id: topic.topicId, partitions, readAt });
      }
    })();
    this.metadataRead = read;
    try {
      await read;
    } catch (error) {
      // A topic the cluster does not know: the caller's problem, not the connection's.
      if (!errorIds(error).has('UNKNOWN_TOPIC_OR_PARTITION')) throw error;
    } finally {
      this.metadataRead = undefined;
    }
  }

  /** The leader of a partition; throws a retriable error while it has none. */
  async leaderOf(topic: string, partition: number): Promise<PartitionLeader> {
    const metadata = (await this.metadata([topic])).get(topic)!;
    const leader = metadata.partitions[partition];
    if (!leader) throw new Error(`topic ${topic} has no partition ${partition}`);
    if (leader.leader < 0) {
      this.forgetLeaders([topic]);
      throw new NetworkError(`${topic}-${partition} has no leader at the moment.`, { canRetry: true, hasStaleMetadata: true });
    }
    return leader;
  }

  async partitionCount(topic: string): Promise<number> {
    return (await this.metadata([topic])).get(topic)!.partitions.length;
  }

  /** The next use of these topics' metadata reads it again (a leader moved). */
  forgetLeaders(topics: readonly string[]): void {
    for (const topic of topics) {
      const known = this.topics.get(topic);
      if (known) known.readAt = -Infinity;
    }
  }

  /** The broker coordinating a consumer group or a transactional id, looked up once and kept until forgotten. */
  async coordinator(kind: 'group' | 'transaction', key: string): Promise<NodeId> {
    const id = `${kind}:${key}`;
    const known = this.coordinators.get(id);
    if (known !== undefined) return known;
    const keyType = kind === 'group' ? FindCoordinatorKeyTypes.GROUP : FindCoordinatorKeyTypes.TRANSACTION;
    const answer = await this.request('admin', 'any', findCoordinatorV6.api, keyType, [key]);
    const found = answer.coordinators.find((candidate) => candidate.key === key);
    if (!found || found.nodeId < 0) throw new NetworkError(`No coordinator for ${kind} ${key} yet.`, { canRetry: true });
    this.brokers.set(found.nodeId, { host: found.host, port: found.port });
    this.coordinators.set(id, found.nodeId);
    return found.nodeId;
  }

  forgetCoordinator(kind: 'group' | 'transaction', key: string): void {
    this.coordinators.delete(`${kind}:${key}`);
  }

  /** Closes every connection; requests in flight fail. */
  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
  }
}

function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return { host: address, port: 9092 };
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}
