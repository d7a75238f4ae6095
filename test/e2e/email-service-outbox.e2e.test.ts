import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Topics, type Customer, type Order } from '@ecosystem/avro';
import type { BytesProducer } from 'kstreams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '../../email-service/test/support/smtp-sink.ts';
import { TestSystem } from './system.ts';
import { eventually } from '../support/eventually.ts';

/** Without SMTP_URL the email service writes each email to a file a person can open. */
let outbox: string;
let system: TestSystem;
let producer: BytesProducer;

beforeAll(async () => {
  outbox = await mkdtemp(path.join(os.tmpdir(), 'e2e-outbox-'));
  system = await TestSystem.start({ services: ['email-service'], environment: { SMTP_URL: '', OUTBOX_DIR: outbox, LOG_LEVEL: 'info' } });
  producer = system.kafka.producer();
}, 180_000);

afterAll(async () => {
  await producer?.close();
  await system?.stop();
  if (outbox) await rm(outbox, { recursive: true, force: true });
}, 60_000);

const service = () => system.processes.find((process) => process.service === 'email-service')!;

describe('email-service without SMTP', () => {
  it('writes the email of an order outcome to the outbox directory and logs it', async () => {
    const customer: Customer = { id: 8, firstName: 'Alan', lastName: 'Turing', email: 'alan@example.com', address: 'Bletchley Park', level: 'silver' };
    const customers = system.serdes[Topics.customers];
    await producer.send({ messages: [{ topic: customers.topic, key: customers.key.serialize(customer.id), value: await customers.value.serialize(customer) }] });
    await eventually(async () => ((await fetch(`http://127.0.0.1:${service().port}/v1/customers/${customer.id}`)).ok ? true : undefined), 'the customer in the email service', 60_000);

    const orderId = `outbox-${Date.now().toString(36)}`;
    const orders = system.serdes[Topics.orders];
    const payments = system.serdes[Topics.payments];
    const order = (state: Order['state']): Order => ({ id: orderId, customerId: customer.id, state, product: 'UNDERPANTS', quantity: 5, price: 3 });
    await producer.send({ messages: [{ topic: orders.topic, key: orders.key.serialize(orderId), value: await orders.value.serialize(order('CREATED')) }] });
    const payment = { id: `pay-${orderId}`, orderId, ccy: 'EUR', amount: 15 };
    await producer.send({ messages: [{ topic: payments.topic, key: payments.key.serialize(payment.id), value: await payments.value.serialize(payment) }] });
    await producer.send({ messages: [{ topic: orders.topic, key: orders.key.serialize(orderId), value: await orders.value.serialize(order('VALIDATED')) }] });

    const file = `order-${orderId}.eml`;
    await eventually(async () => ((await readdir(outbox)).includes(file) ? true : undefined), `${file} in the outbox`, 60_000);
    expect(await readdir(outbox)).toEqual([file]);
    const { headers, text } = parseMessage(await readFile(path.join(outbox, file), 'utf8'));
    expect(headers.get('to')).toBe('alan@example.com');
    expect(headers.get('subject')).toBe(`Your order ${orderId} confirmed (VALIDATED)`);
    expect(text).toContain('Paid:      15.00 EUR');
    await eventually(async () => (service().output.join('').includes('"msg":"email written to the outbox"') ? true : undefined), 'the log line of the email', 10_000);
    const counts = (await (await fetch(`http://127.0.0.1:${service().port}/v1/emails/count`)).json()) as Record<string, unknown>;
    expect(counts).toMatchObject({ transport: 'outbox', destination: outbox, sent: 1 });
  });
});
