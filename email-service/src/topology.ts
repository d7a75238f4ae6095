import { customerLevels, customerLevelTopic, Topics, type CustomerLevel, type Order, type OrderEnriched, type Payment, type TopicSerdes } from '@ecosystem/avro';
import type { Logger } from '@ecosystem/platform';
import {
  ContextualProcessor,
  JoinWindows,
  jsonSerde,
  Stores,
  StreamsBuilder,
  stringSerde,
  type KeyValueStore,
  type ProcessorContext,
  type StreamRecord,
  type StreamSerdes,
  type Topology,
} from 'kstreams';
import { EmailNotSent, type Mailer } from './mailer.ts';
import { enrichOrder, isOutcome, outcomeEmail, routedLevel, type OutcomeState, type PaidOutcome } from './rules.ts';

/** Every customer, on every instance: emails and routing look customers up by id. */
export const customersStore = 'customers';
/** Order ids emailed recently (EMAILED_RETENTION_MS): the guard against a second email for one order. */
export const emailedOrdersStore = 'recently-emailed';
/** DESIGN.md: a payment joins an order outcome within one minute, either way. */
export const defaultPaymentWindowMs = 60_000;

export interface EmailedOrder {
  state: OutcomeState;
  messageId: string;
  paymentId: string;
  emailedAt: number;
}

/** What this process did, for GET /v1/emails/count. */
export class EmailActivity {
  sent = 0;
  /** Outcomes not emailed again because their order already was (duplicates, further payments). */
  duplicatesSkipped = 0;
  /** Sends that failed and are being retried (the SMTP server was down, timed out, answered 4xx...). */
  failedAttempts = 0;
  /** Outcomes dead-lettered: no such customer, no valid address, or the server refused the recipient for good. */
  rejected = 0;
  lastFailure: string | undefined;
}

export interface EmailDependencies {
  mailer: Mailer;
  /** The From of every email, e.g. `Shop <orders@example.com>`. */
  from: string;
  activity: EmailActivity;
  logger?: Logger;
  paymentWindowMs?: number;
  /** How long the emailed-orders guard remembers an order (default 1 hour). */
  emailedRetentionMs?: number;
}

/**
 * Sends the email of an order's outcome unless that order was emailed before. The store
 * update commits in the same transaction as the input offsets, so once an email is recorded
 * no replay sends it again; the send itself happens before that commit and cannot be rolled
 * back, so a crash between the two resends it, with the same Message-ID (at-least-once).
 */
class OutcomeEmailer extends ContextualProcessor<string, PaidOutcome, string, never> {
  private emailed!: KeyValueStore<string, EmailedOrder>;

  constructor(private readonly dependencies: EmailDependencies) {
    super();
  }

  override init(context: ProcessorContext<string, never>): void {
    super.init(context);
    this.emailed = context.getStateStore(emailedOrdersStore);
  }

  async process({ key, value }: StreamRecord<string, PaidOutcome>): Promise<void> {
    const { mailer, from, activity, logger } = this.dependencies;
    const earlier = await this.emailed.get(key);
    if (earlier) {
      activity.duplicatesSkipped += 1;
      logger?.debug({ orderId: key, state: value.order.state, paymentId: value.payment.id, emailed: earlier }, 'order already emailed; not emailing again');
      return;
    }
    try {
      const email = outcomeEmail(value, from);
      await mailer.send(email);
      this.emailed.put(key, { state: email.state, messageId: email.messageId, paymentId: value.payment.id, emailedAt: Date.now() });
      activity.sent += 1;
    } catch (error) {
      activity.lastFailure = error instanceof Error ? error.message : String(error);
      if (error instanceof EmailNotSent && error.transient) activity.failedAttempts += 1;
      else activity.rejected += 1;
      throw error;
    }
  }
}

type LevelTopic = (typeof Topics)[CustomerLevel];

/**
 * Where an enriched order goes: the topic of its customer's level. The four level topics have
 * their own schema subjects, so the value serde follows the record to its topic's serde.
 */
function levelRouting(serdes: TopicSerdes): { topic: (id: string, enriched: OrderEnriched) => string; serdes: StreamSerdes<string, OrderEnriched> } {
  // customerLevelTopic maps a level to its own topic, one of the four level topics.
  const serdesOf = (level: string) => serdes[customerLevelTopic(routedLevel(level)) as LevelTopic];
  const anyLevel = serdes[customerLevelTopic(customerLevels[0]) as LevelTopic];
  return {
    topic: (_id, enriched) => serdesOf(enriched.customerLevel).topic,
    serdes: {
      key: anyLevel.key,
      value: {
        serialize: (enriched) => serdesOf(enriched.customerLevel).value.serialize(enriched),
        deserialize: (bytes) => anyLevel.value.deserialize(bytes),
      },
    },
  };
}

/**
 * Two flows over orders and the global customers table:
 * - created orders ⋈ customers → OrderEnriched, routed to the topic of the customer's level;
 * - order outcomes ⋈ payments (re-keyed by order id, within the payment window) ⋈ customers
 *   → one email per order.
 */
export function emailTopology(serdes: TopicSerdes, dependencies: EmailDependencies): Topology {
  const builder = new StreamsBuilder();
  const customers = builder.globalTable(serdes[Topics.customers].topic, serdes[Topics.customers], { storeName: customersStore });
  builder.addStateStore(Stores.keyValue(emailedOrdersStore, stringSerde, jsonSerde<EmailedOrder>(), { retentionMs: dependencies.emailedRetentionMs ?? 60 * 60 * 1_000 }));
  const orders = builder.stream(serdes[Topics.orders].topic, serdes[Topics.orders], { name: 'orders' });

  const routing = levelRouting(serdes);
  orders
    .filter((_id, order: Order | null) => order?.state === 'CREATED', { name: 'created-orders' })
    .leftJoinGlobal(customers, (_id, order) => order.customerId, enrichOrder, { name: 'orders-with-levels' })
    .to(routing.topic, routing.serdes, { name: 'to-level-topic' });

  const paymentsByOrder = builder
    .stream(serdes[Topics.payments].topic, serdes[Topics.payments], { name: 'payments' })
    .filter((_id, payment: Payment | null) => payment !== null && payment !== undefined, { name: 'non-empty-payments' })
    .selectKey((_id, payment) => payment.orderId, { name: 'payments-by-order' });

  orders
    .filter((_id, order: Order | null) => isOutcome(order), { name: 'order-outcomes' })
    .joinStream(paymentsByOrder, (order, payment): PaidOutcome => ({ order, payment }), JoinWindows.ofTimeDifference(dependencies.paymentWindowMs ?? defaultPaymentWindowMs), {
      name: 'outcomes-with-payments',
      otherSerdes: { key: stringSerde, value: jsonSerde<Payment>() },
    })
    .leftJoinGlobal(customers, (_id, paid) => paid.order.customerId, (paid, customer): PaidOutcome => ({ ...paid, customer }), { name: 'outcomes-with-customers' })
    .process(() => new OutcomeEmailer(dependencies), { name: 'send-outcome-email', stores: [emailedOrdersStore] });
  return builder.build();
}
