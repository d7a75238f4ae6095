import { Topics, type Customer, type Order, type OrderEnriched, type Payment } from '@ecosystem/avro';
import { partitionForKey } from 'kstreams';
import type { BytesProducer } from 'kstreams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type ReceivedEmail, type SmtpSink } from '../../email-service/test/support/smtp-sink.ts';
import { TestSystem } from './system.ts';
import { eventually } from '../support/eventually.ts';

/**
 * The email service as its own process on the real broker and registry, sending through a
 * real SMTP server that this test runs. Records are produced straight onto the topics.
 */
const credentials = { user: 'mailer', pass: 'e2e-secret' };
let smtp: SmtpSink;
let system: TestSystem;
let producer: BytesProducer;

beforeAll(async () => {
  smtp = await startSmtpSink({ credentials });
  system = await TestSystem.start({ services: ['email-service'], environment: { SMTP_URL: smtp.url, MAIL_FROM: 'Shop <orders@shop.e2e>' } });
  producer = system.kafka.producer();
}, 180_000);

afterAll(async () => {
  await producer?.close();
  await system?.stop();
  await smtp?.close();
}, 60_000);

const liveService = () => system.processes.find((process) => process.service === 'email-service' && process.child.exitCode === null && process.child.signalCode === null)!;
const emailService = () => `http://127.0.0.1:${liveService().port}`;

async function produce<K, V>(serdes: { topic: string; key: { serialize(key: K): Buffer }; value: { serialize(value: V): Buffer | Promise<Buffer> } }, key: K, value: V): Promise<void> {
  await producer.send({ messages: [{ topic: serdes.topic, key: serdes.key.serialize(key), value: await serdes.value.serialize(value) }] });
}

const putOrder = (order: Order) => produce(system.serdes[Topics.orders], order.id, order);
const putPayment = (payment: Payment) => produce(system.serdes[Topics.payments], payment.id, payment);

/** Produces the customer and waits until the service's global table has it. */
async function putCustomer(customer: Customer): Promise<void> {
  await produce(system.serdes[Topics.customers], customer.id, customer);
  await eventually(async () => {
    const response = await fetch(`${emailService()}/v1/customers/${customer.id}`);
    if (!response.ok) return undefined;
    const known = (await response.json()) as Customer;
    return known.email === customer.email ? known : undefined;
  }, `customer ${customer.id} in the email service`);
}

async function emailCounts(): Promise<{ sent: number; duplicatesSkipped: number; failedAttempts: number; rejected: number; transport: string }> {
  return (await (await fetch(`${emailService()}/v1/emails/count`)).json()) as Awaited<ReturnType<typeof emailCounts>>;
}

/**
 * An id whose records land on `partition` (of 3, murmur2 like the Java client): records of one
 * partition are processed in order, so a later order's email proves the earlier records were
 * handled too.
 */
function idOnPartition(name: string, partition: number): string {
  for (let attempt = 0; ; attempt += 1) {
    const id = `${name}-${Math.random().toString(36).slice(2, 8)}-${attempt}`;
    if (partitionForKey(Buffer.from(id, 'utf8'), 3) === partition) return id;
  }
}

const emailsAbout = (orderId: string): ReceivedEmail[] => smtp.received.filter((email) => email.headers.get('x-order-id') === orderId);
const emailAbout = (orderId: string) => smtp.waitFor((email) => email.headers.get('x-order-id') === orderId, 60_000);

const gold: Customer = { id: 5, firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.com', address: '1 Navy Way', level: 'gold' };
const order = (id: string, state: Order['state']): Order => ({ id, customerId: gold.id, state, product: 'JUMPERS', quantity: 2, price: 30 });
const payment = (id: string, orderId: string, amount = 60): Payment => ({ id, orderId, ccy: 'USD', amount });

describe('email-service with an SMTP server', () => {
  it('emails a gold customer exactly once per order and routes the order to the gold topic', async () => {
    await putCustomer(gold);
    const orderId = idOnPartition('order', 1);
    const [firstPayment, secondPayment, markerPayment] = [idOnPartition('pay', 2), idOnPartition('pay', 2), idOnPartition('pay', 2)];

    await putOrder(order(orderId, 'CREATED'));
    await putPayment(payment(firstPayment, orderId));
    await putOrder(order(orderId, 'VALIDATED'));
    const email = await emailAbout(orderId);
    expect(email.envelopeTo).toEqual([gold.email]);
    expect(email.headers.get('to')).toBe(gold.email);
    expect(email.headers.get('subject')).toBe(`Your order ${orderId} confirmed (VALIDATED)`);
    expect(email.headers.get('message-id')).toBe(`<order-${orderId}@shop.e2e>`);
    expect(email.text).toContain('Product:   JUMPERS');
    expect(email.text).toContain('Quantity:  2');
    expect(email.text).toContain(`Paid:      60.00 USD (payment ${firstPayment})`);

    // A duplicate final state and a second payment: neither may send a second email.
    await putOrder(order(orderId, 'VALIDATED'));
    await putPayment(payment(secondPayment, orderId, 5));
    // A later order on the same partitions: once its email is here, the duplicates were processed.
    const marker = idOnPartition('marker', 1);
    await putOrder(order(marker, 'CREATED'));
    await putPayment(payment(markerPayment, marker));
    await putOrder(order(marker, 'FAILED'));
    expect((await emailAbout(marker)).headers.get('subject')).toBe(`Your order ${marker} could not be accepted (FAILED)`);
    expect(emailsAbout(orderId)).toHaveLength(1);
    const counts = await emailCounts();
    expect(counts).toMatchObject({ transport: 'smtp', rejected: 0 });
    expect(counts.duplicatesSkipped).toBeGreaterThanOrEqual(3);

    const goldSerdes = system.serdes[Topics.gold];
    const routed = await system.read(goldSerdes.topic, (value) => goldSerdes.value.deserialize(value), (records) => records.some(({ key }) => key === marker));
    expect(routed.filter(({ key }) => key === orderId).map(({ value }) => value)).toEqual([{ id: orderId, customerId: gold.id, customerLevel: 'gold' } satisfies OrderEnriched]);
  });

  it('keeps an email through an SMTP outage and delivers it, once, when the server is back', async () => {
    await putCustomer(gold);
    const port = smtp.port;
    await smtp.close();
    const before = await emailCounts();

    const orderId = idOnPartition('outage', 0);
    await putOrder(order(orderId, 'CREATED'));
    await putPayment(payment(idOnPartition('pay', 0), orderId));
    await putOrder(order(orderId, 'VALIDATED'));
    // The service tries, fails and keeps the record (no dead letter, nothing dropped).
    await eventually(async () => ((await emailCounts()).failedAttempts > before.failedAttempts ? true : undefined), 'a failed send attempt');

    smtp = await startSmtpSink({ port, credentials });
    const email = await emailAbout(orderId);
    expect(email.envelopeTo).toEqual([gold.email]);
    const marker = idOnPartition('marker', 0);
    await putOrder(order(marker, 'CREATED'));
    await putPayment(payment(idOnPartition('pay', 0), marker));
    await putOrder(order(marker, 'VALIDATED'));
    await emailAbout(marker);
    expect(emailsAbout(orderId)).toHaveLength(1);
    expect((await emailCounts()).rejected).toBe(0);
  });

  it('loses no email when the service is killed (kill -9) in the middle of a burst', async () => {
    await putCustomer(gold);
    const ids = Array.from({ length: 30 }, (_, index) => `burst-${index}-${Math.random().toString(36).slice(2, 8)}`);
    const orders = system.serdes[Topics.orders];
    const payments = system.serdes[Topics.payments];
    const messages = async (state: Order['state']) => Promise.all(ids.map(async (id) => ({ topic: orders.topic, key: orders.key.serialize(id), value: await orders.value.serialize(order(id, state)) })));
    await producer.send({ messages: await messages('CREATED') });
    await producer.send({
      messages: await Promise.all(ids.map(async (id) => ({ topic: payments.topic, key: payments.key.serialize(`pay-${id}`), value: await payments.value.serialize(payment(`pay-${id}`, id)) }))),
    });
    await producer.send({ messages: await messages('VALIDATED') });

    const wanted = new Set(ids);
    await smtp.waitFor((email) => wanted.has(email.headers.get('x-order-id') ?? ''));
    const killed = liveService();
    killed.child.kill('SIGKILL');
    await new Promise((resolve) => killed.child.once('exit', resolve));
    // The dead process leaves the system's list: stop() need not wait for it.
    system.processes.splice(system.processes.indexOf(killed), 1);
    const restarted = await system.startService('email-service');
    await eventually(async () => ((await fetch(`http://127.0.0.1:${restarted.port}/ready`).then((response) => response.ok, () => false)) ? true : undefined), 'the restarted email service', 90_000);

    await Promise.all(ids.map((id) => emailAbout(id)));
    for (const id of ids) {
      const copies = emailsAbout(id);
      // At least once; any copy a crash caused is the same message (same Message-ID).
      expect(new Set(copies.map((email) => email.headers.get('message-id')))).toEqual(new Set([`<order-${id}@shop.e2e>`]));
    }
    const duplicates = ids.reduce((sum, id) => sum + emailsAbout(id).length - 1, 0);
    console.log(`email-service kill -9: ${ids.length} orders, ${ids.length + duplicates} emails (${duplicates} resent after the crash)`);

    // Routing is exactly-once: one enriched record per order on the committed topic.
    const goldSerdes = system.serdes[Topics.gold];
    const routed = await system.read(goldSerdes.topic, (value) => goldSerdes.value.deserialize(value), (records) => ids.every((id) => records.some(({ key }) => key === id)));
    for (const id of ids) expect(routed.filter(({ key }) => key === id)).toHaveLength(1);
  });
});
