import { Admin, compatibilityPartitioner, Consumer, Producer, type RetryDelayGetter } from '@platformatic/kafka';
import type { RuntimeLogger } from '../engine/logger.ts';
import { silentLogger } from '../engine/logger.ts';
import { BrokerConnections, type ConnectionRole } from './broker-connections.ts';
import { backoffDelay, describeError } from './retry.ts';
import { errorIds } from './errors.ts';
import { connectionSecurity, securityFailure, type KafkaSecurity } from './security.ts';

export type BytesProducer = Producer<Buffer, Buffer, Buffer, Buffer>;
export type BytesConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

export interface KafkaClientsOptions {
  clientId: string;
  brokers: readonly string[];
  logger?: RuntimeLogger;
  /** Request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** TLS and SASL for every client (default: neither, plaintext). */
  security?: KafkaSecurity;
  /** How long a connection attempt may take (default 5 s). */
  connectTimeoutMs?: number;
  /** Retries of a failed request (default 8, producers 15); 0 for a probe that must answer at once. */
  retries?: number;
}

export interface ProducerOptions {
  /** Makes the producer transactional (exactly-once); omitted, it is idempotent. */
  transactionalId?: string;
  /** How long the broker keeps a transaction open before aborting it (default 10 s, as Kafka Streams). */
  transactionTimeoutMs?: number;
}

/**
 * The one Kafka client factory of the project (on @platformatic/kafka): every producer,
 * consumer and admin client gets the same brokers, security (TLS, SASL), retries and logging
 * from here, and every
 * producer the Java client's murmur2 partitioner, so Java clients, Kafka Connect and this
 * project agree on which partition owns a key.
 */
export class KafkaClients {
  readonly logger: RuntimeLogger;
  private sharedAdmin: Admin | undefined;

  constructor(readonly options: KafkaClientsOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  private base(role: string, timeout = this.options.requestTimeoutMs ?? 30_000) {
    return {
      clientId: `${this.options.clientId}-${role}`,
      bootstrapBrokers: [...this.options.brokers],
      connectTimeout: this.options.connectTimeoutMs ?? 5_000,
      timeout,
      retries: this.options.retries ?? 8,
      retryDelay,
      metadataMaxAge: 30_000,
      ...connectionSecurity(this.options.security, this.options.brokers),
    };
  }

  /**
   * Asks the brokers for their metadata once, without retries, and throws a `KafkaSecurityError`
   * (one line: what was refused, by which broker, why) when they refuse this client's
   * credentials or TLS setup: a process calls it at start, so a wrong password stops it at
   * once instead of being retried forever. Any other failure (a broker still starting) is left
   * to the clients' own retries, and resolves.
   */
  async verify(): Promise<void> {
    const probe = new Admin({ ...this.base('verify'), retries: 0 });
    try {
      await probe.metadata({ topics: [] });
    } catch (error) {
      const refused = securityFailure(error, this.options.security, this.options.brokers);
      if (refused) throw refused;
      // A TLS listener drops a client that does not start with a TLS handshake, before any answer.
      const hint = !this.options.security?.tls && /Connection closed/.test(describeError(error)) ? '; if its listener expects TLS, the client must use TLS too' : '';
      this.logger[hint ? 'warn' : 'debug']({ brokers: this.options.brokers.join(','), error: describeError(error) }, `kafka did not answer yet (the clients will retry)${hint}`);
    } finally {
      await probe.close().catch(() => undefined);
    }
  }

  /**
   * The client's idempotent producer (acks=all), transactional when given a transactional id,
   * for tools and tests. (The streams runtime and the services write through RecordProducer.)
   */
  producer(options: ProducerOptions = {}): BytesProducer {
    // The client uses its request timeout as the transaction timeout too.
    const timeout = options.transactionalId ? (options.transactionTimeoutMs ?? 10_000) : undefined;
    const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      ...this.base('producer', timeout),
      idempotent: true,
      // Enough to outlast a coordinator moving to another broker (seconds), as the Java producer
      // retries until its delivery timeout.
      retries: this.options.retries ?? 15,
      partitioner: compatibilityPartitioner,
      ...(options.transactionalId ? { transactionalId: options.transactionalId } : {}),
    });
    return this.watch(producer, 'producer');
  }

  /**
   * A consumer client: for group membership (the streams runtime) or, through a `Fetcher`, for
   * reading partitions at positions of the caller's choosing. Each gets its own connections.
   */
  consumer(groupId: string, options: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; rebalanceTimeoutMs?: number } = {}): BytesConsumer {
    const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...this.base('consumer'),
      groupId,
      autocommit: false,
      sessionTimeout,
      heartbeatInterval: options.heartbeatIntervalMs ?? Math.min(1_000, Math.floor(sessionTimeout / 3)),
      rebalanceTimeout: Math.max(sessionTimeout, options.rebalanceTimeoutMs ?? 30_000),
    });
    return this.watch(consumer, 'consumer');
  }

  /**
   * Connections on the client's protocol layer, for the runtime's own producer, group member
   * and fetchers (each closes them when it is done). `longestWaitMs`: how long requests of a
   * role may be held by the broker on purpose (a fetch's long poll, a join waiting for the group).
   */
  connections(name: string, longestWaitMs: Partial<Record<ConnectionRole, number>> = {}): BrokerConnections {
    return new BrokerConnections({
      clientId: `${this.options.clientId}-${name}`,
      bootstrap: this.options.brokers,
      logger: this.logger,
      connectTimeoutMs: this.options.connectTimeoutMs ?? 5_000,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000,
      longestWaitMs,
      ...(this.options.security ? { security: this.options.security } : {}),
    });
  }

  /** The shared admin client (topics, offsets, groups). */
  admin(): Admin {
    this.sharedAdmin ??= this.watch(new Admin(this.base('admin')), 'admin');
    return this.sharedAdmin;
  }

  async close(): Promise<void> {
    const admin = this.sharedAdmin;
    this.sharedAdmin = undefined;
    await admin?.close().catch(() => undefined);
  }

  /** A client emits 'error' for failures nobody awaits (a background rejoin): log them instead of crashing. */
  private watch<T extends { on(event: 'error', listener: (error: Error) => void): unknown }>(client: T, role: string): T {
    client.on('error', (error: Error) => {
      const refused = securityFailure(error, this.options.security, this.options.brokers);
      this.logger.warn({ client: role, error: refused?.message ?? describeError(error) }, refused ? 'kafka refused the connection' : 'kafka client error');
    });
    return client;
  }
}

/**
 * Retry delays: a transaction coordinator answers CONCURRENT_TRANSACTIONS for the few
 * milliseconds it takes to finish the previous commit, so that one is retried almost at once
 * (as the Java producer does); everything else backs off from 100 ms to 2 s.
 */
const retryDelay: RetryDelayGetter = (_client, _operation, attempt, _retries, error) => {
  if (errorIds(error).has('CONCURRENT_TRANSACTIONS')) return Math.min(20 * attempt, 500);
  return backoffDelay(attempt, { initialMs: 100, maxMs: 2_000 });
};
