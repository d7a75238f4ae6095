import { createSchemaRegistry, Topics, topicSerdes, type Customer, type Order, type OrderEnriched, type Payment, type TopicSerdes } from '@ecosystem/avro';
import { createLogger } from '@ecosystem/platform';
import type { KeyValueStore } from 'kstreams';
import { TopologyTestDriver } from 'kstreams/test-driver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { smtpMailer, type Mailer } from '../src/mailer.ts';
import { EmailActivity, emailedOrdersStore, emailTopology, type EmailedOrder } from '../src/topology.ts';
import { startSmtpSink, type ReceivedEmail, type SmtpSink } from './support/smtp-sink.ts';

/**
 * The topology in the test driver (no broker), with the real schema registry behind the Avro
 * serdes and a real SMTP server receiving the emails.
 */
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const logger = createLogger('email-service-test', 'silent');
const from = 'Shop <orders@shop.test>';

let smtp: SmtpSink;
let mailer: Mailer;
let serdes: TopicSerdes;
let driver: TopologyTestDriver;
let activity: EmailActivity;

beforeAll(async () => {
  smtp = await startSmtpSink({ refuseRecipient: (address) => address.startsWith('gone@') });
  mailer = smtpMailer({ smtpUrl: smtp.url, outboxDir: '', from, smtpTimeoutMs: 3_000, smtpMaxConnections: 1 }, logger);
  serdes = topicSerdes(createSchemaRegistry(registryUrl), { prefix: `email-topology-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}.` });
});

afterAll(async () => {
  await mailer?.close();
  await smtp?.close();
});

async function start(): Promise<void> {
  activity = new EmailActivity();
  driver = await TopologyTestDriver.create(emailTopology(serdes, { mailer, from, activity, logger }), { partitions: 3 });
}

afterEach(async () => {
  await driver?.close();
});

const t0 = Date.UTC(2026, 0, 1, 12);
let sequence = 0;
const unique = (name: string) => `${name}-${(sequence += 1)}-${Math.random().toString(36).slice(2, 8)}`;

function customer(id: number, level: string, email = `customer${id}@example.com`): Customer {
  return { id, firstName: 'Cus', lastName: `Tomer ${id}`, email, address: `${id} Main Street`, level };
}

function order(id: string, customerId: number, state: Order['state']): Order {
  return { id, customerId, state, product: 'UNDERPANTS', quantity: 4, price: 2.5 };
}

const input = () => ({
  customers: driver.inputTopic(serdes[Topics.customers].topic, serdes[Topics.customers]),
  orders: driver.inputTopic(serdes[Topics.orders].topic, serdes[Topics.orders]),
  payments: driver.inputTopic(serdes[Topics.payments].topic, serdes[Topics.payments]),
});

const emailsAbout = (orderId: string): ReceivedEmail[] => smtp.received.filter((email) => email.headers.get('x-order-id') === orderId);

async function emailedRecord(orderId: string): Promise<EmailedOrder | undefined> {
  const partition = driver.partitionOf(Buffer.from(orderId, 'utf8'));
  return driver.store<KeyValueStore<string, EmailedOrder>>(emailedOrdersStore, partition).get(orderId);
}

describe('routing enriched orders by customer level', () => {
  it('writes OrderEnriched of each created order to the topic of its customer level, and nothing for later states', async () => {
    await start();
    const { customers, orders } = input();
    await customers.pipe(5, customer(5, 'gold'), t0);
    await customers.pipe(6, customer(6, 'Silver '), t0);
    await customers.pipe(1, customer(1, 'platinum'), t0);
    await customers.pipe(4, customer(4, 'bronze'), t0);
    const ids = { gold: unique('g'), silver: unique('s'), platinum: unique('p'), bronze: unique('b') };
    await orders.pipe(ids.gold, order(ids.gold, 5, 'CREATED'), t0 + 1);
    await orders.pipe(ids.silver, order(ids.silver, 6, 'CREATED'), t0 + 2);
    await orders.pipe(ids.platinum, order(ids.platinum, 1, 'CREATED'), t0 + 3);
    await orders.pipe(ids.bronze, order(ids.bronze, 4, 'CREATED'), t0 + 4);
    await orders.pipe(ids.gold, order(ids.gold, 5, 'VALIDATED'), t0 + 5);

    const read = (topic: 'platinum' | 'gold' | 'silver' | 'bronze') => driver.outputTopic(serdes[topic].topic, serdes[topic]).readKeyValues();
    expect(await read('gold')).toEqual([[ids.gold, { id: ids.gold, customerId: 5, customerLevel: 'gold' } satisfies OrderEnriched]]);
    expect(await read('silver')).toEqual([[ids.silver, { id: ids.silver, customerId: 6, customerLevel: 'silver' }]]);
    expect(await read('platinum')).toEqual([[ids.platinum, { id: ids.platinum, customerId: 1, customerLevel: 'platinum' }]]);
    expect(await read('bronze')).toEqual([[ids.bronze, { id: ids.bronze, customerId: 4, customerLevel: 'bronze' }]]);
    // Each level topic's records carry the schema id registered under that topic's own subject.
    for (const level of ['gold', 'silver'] as const) {
      const topic = serdes[level].topic;
      const latest = (await (await fetch(`${registryUrl}/subjects/${encodeURIComponent(`${topic}-value`)}/versions/latest`)).json()) as { id: number };
      expect(driver.rawRecords(topic)[0]!.value!.readInt32BE(1)).toBe(latest.id);
    }
    expect(driver.deadLetters).toEqual([]);
  });

  it('dead-letters a created order whose customer is unknown or has an unknown level', async () => {
    await start();
    const { customers, orders } = input();
    await customers.pipe(8, customer(8, 'diamond'), t0);
    const [unknownCustomer, unknownLevel] = [unique('u'), unique('d')];
    await orders.pipe(unknownCustomer, order(unknownCustomer, 999, 'CREATED'), t0);
    await orders.pipe(unknownLevel, order(unknownLevel, 8, 'CREATED'), t0);
    expect(driver.deadLetters.map(({ error }) => error)).toEqual([
      `processing failed: order ${unknownCustomer}: customer 999 is unknown, so the order has no level to be routed by`,
      'processing failed: customer level "diamond" is not one of platinum, gold, silver, bronze',
    ]);
  });
});

describe('one email per order outcome', () => {
  it('emails the customer once, however many duplicates and payments follow', async () => {
    await start();
    const { customers, orders, payments } = input();
    await customers.pipe(5, customer(5, 'gold', 'grace@example.com'), t0);
    const id = unique('once');
    const payment: Payment = { id: unique('pay'), orderId: id, ccy: 'USD', amount: 10 };
    await orders.pipe(id, order(id, 5, 'CREATED'), t0);
    await payments.pipe(payment.id, payment, t0 + 10);
    expect(emailsAbout(id)).toEqual([]);
    await orders.pipe(id, order(id, 5, 'VALIDATED'), t0 + 1_000);

    const [email] = emailsAbout(id);
    expect(email?.envelopeTo).toEqual(['grace@example.com']);
    expect(email?.headers.get('subject')).toBe(`Your order ${id} confirmed (VALIDATED)`);
    expect(email?.text).toContain(`Paid:      10.00 USD (payment ${payment.id})`);

    await orders.pipe(id, order(id, 5, 'VALIDATED'), t0 + 2_000);
    await payments.pipe('second', { ...payment, id: 'second', amount: 99 }, t0 + 3_000);
    await orders.pipe(id, order(id, 5, 'FAILED'), t0 + 4_000);
    expect(emailsAbout(id)).toHaveLength(1);
    expect(activity).toMatchObject({ sent: 1, failedAttempts: 0, rejected: 0 });
    expect(activity.duplicatesSkipped).toBeGreaterThanOrEqual(4);
    expect(await emailedRecord(id)).toMatchObject({ state: 'VALIDATED', paymentId: payment.id, messageId: email?.headers.get('message-id') });
    expect(driver.deadLetters).toEqual([]);
  });

  it('joins a payment that arrives after the outcome, within the minute either way', async () => {
    await start();
    const { customers, orders, payments } = input();
    await customers.pipe(6, customer(6, 'silver'), t0);
    const id = unique('late-payment');
    await orders.pipe(id, order(id, 6, 'FAILED'), t0);
    expect(emailsAbout(id)).toEqual([]);
    await payments.pipe('p', { id: unique('pay'), orderId: id, ccy: 'EUR', amount: 10 }, t0 + 59_000);
    expect(emailsAbout(id).map((email) => email.headers.get('subject'))).toEqual([`Your order ${id} could not be accepted (FAILED)`]);
  });

  it('sends nothing for an outcome whose payment is more than a minute away', async () => {
    await start();
    const { customers, orders, payments } = input();
    await customers.pipe(6, customer(6, 'silver'), t0);
    const [early, late] = [unique('early'), unique('late')];
    await payments.pipe('p1', { id: unique('pay'), orderId: early, ccy: 'EUR', amount: 1 }, t0);
    await orders.pipe(early, order(early, 6, 'VALIDATED'), t0 + 61_000);
    await orders.pipe(late, order(late, 6, 'VALIDATED'), t0 + 61_000);
    await payments.pipe('p2', { id: unique('pay'), orderId: late, ccy: 'EUR', amount: 1 }, t0 + 122_001);
    expect([...emailsAbout(early), ...emailsAbout(late)]).toEqual([]);
  });

  it('dead-letters an outcome nobody can be emailed about, and records no email for it', async () => {
    await start();
    const { customers, orders, payments } = input();
    await customers.pipe(9, customer(9, 'bronze', 'gone@example.com'), t0);
    const [unknown, refused] = [unique('unknown'), unique('refused')];
    await payments.pipe('p1', { id: unique('pay'), orderId: unknown, ccy: 'EUR', amount: 1 }, t0);
    await orders.pipe(unknown, order(unknown, 12345, 'VALIDATED'), t0);
    await payments.pipe('p2', { id: unique('pay'), orderId: refused, ccy: 'EUR', amount: 1 }, t0);
    await orders.pipe(refused, order(refused, 9, 'FAILED'), t0);

    expect(driver.deadLetters.map(({ error }) => error)).toEqual([
      `processing failed: order ${unknown}: customer 12345 is unknown, so there is no address to email`,
      expect.stringMatching(new RegExp(`^processing failed: email about order ${refused} to gone@example.com not sent through smtp://127\\.0\\.0\\.1:\\d+/?: .*550`)),
    ]);
    expect(await emailedRecord(refused)).toBeUndefined();
    expect(activity).toMatchObject({ sent: 0, rejected: 2 });
  });
});
