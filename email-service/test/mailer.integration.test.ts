import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Customer, Order, Payment } from '@ecosystem/avro';
import { createLogger } from '@ecosystem/platform';
import { afterEach, describe, expect, it } from 'vitest';
import type { MailerSettings } from '../src/config.ts';
import { EmailNotSent, outboxMailer, smtpMailer, type Mailer } from '../src/mailer.ts';
import { outcomeEmail, type OutcomeEmail } from '../src/rules.ts';
import { parseMessage, startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

const logger = createLogger('email-service-test', 'silent');
const from = 'Order Ecosystem <orders@ecosystem.test>';
const customer: Customer = { id: 7, firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: '12 St James Square', level: 'gold' };

function email(orderId: string, state: Order['state'] = 'VALIDATED', to = customer.email): OutcomeEmail {
  const order: Order = { id: orderId, customerId: 7, state, product: 'STOCKINGS', quantity: 2, price: 4.5 };
  const payment: Payment = { id: `pay-${orderId}`, orderId, ccy: 'GBP', amount: 9 };
  return outcomeEmail({ order, payment, customer: { ...customer, email: to } }, from);
}

const settings = (smtpUrl: string): MailerSettings & { smtpUrl: string } => ({ smtpUrl, outboxDir: '', from, smtpTimeoutMs: 3_000, smtpMaxConnections: 2 });

async function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function sendFailure(mailer: Mailer, message: OutcomeEmail): Promise<EmailNotSent> {
  const error = await mailer.send(message).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(EmailNotSent);
  return error as EmailNotSent;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function sink(options: Parameters<typeof startSmtpSink>[0] = {}): Promise<SmtpSink> {
  const started = await startSmtpSink(options);
  cleanups.push(() => started.close());
  return started;
}

function mailerFor(url: string): Mailer {
  const mailer = smtpMailer(settings(url), logger);
  cleanups.push(() => mailer.close());
  return mailer;
}

describe('SMTP delivery to a real SMTP server', () => {
  it('delivers the email to the customer, authenticated with the credentials of SMTP_URL', async () => {
    const server = await sink({ credentials: { user: 'mailer', pass: 's3cret:/@' } });
    const mailer = mailerFor(server.url);
    const receipt = await mailer.send(email('order-a'));
    expect(receipt.messageId).toBe('<order-order-a@ecosystem.test>');
    expect(receipt.detail).toMatch(/^250/);

    expect(server.received).toHaveLength(1);
    const received = server.received[0]!;
    expect(received.envelopeFrom).toBe('orders@ecosystem.test');
    expect(received.envelopeTo).toEqual(['ada@example.com']);
    expect(received.headers.get('to')).toBe('ada@example.com');
    expect(received.headers.get('from')).toBe('Order Ecosystem <orders@ecosystem.test>');
    expect(received.headers.get('subject')).toBe('Your order order-a confirmed (VALIDATED)');
    expect(received.headers.get('message-id')).toBe('<order-order-a@ecosystem.test>');
    expect(received.headers.get('x-order-id')).toBe('order-a');
    expect(received.headers.get('x-order-state')).toBe('VALIDATED');
    expect(received.text).toContain('Dear Ada Lovelace,');
    expect(received.text).toContain('Product:   STOCKINGS');
    expect(received.text).toContain('Quantity:  2');
    expect(received.text).toContain('Paid:      9.00 GBP (payment pay-order-a)');
    expect(mailer.destination).toBe(`smtp://mailer:***@127.0.0.1:${server.port}`);
  });

  it('sends many emails at once through the pool', async () => {
    const server = await sink();
    const mailer = mailerFor(server.url);
    const ids = Array.from({ length: 20 }, (_, index) => `bulk-${index}`);
    await Promise.all(ids.map((id) => mailer.send(email(id, index(id) % 2 === 0 ? 'VALIDATED' : 'FAILED'))));
    expect(server.received.map((message) => message.headers.get('x-order-id')).sort()).toEqual([...ids].sort());
    expect(server.received.filter((message) => message.headers.get('x-order-state') === 'FAILED')).toHaveLength(10);
  });

  it('reports a server that is down as transient, and delivers once it is up', async () => {
    const port = await unusedPort();
    const mailer = mailerFor(`smtp://127.0.0.1:${port}`);
    const down = await sendFailure(mailer, email('order-b'));
    expect(down.transient).toBe(true);
    expect(down.message).toContain('email about order order-b to ada@example.com not sent through smtp://127.0.0.1:');

    const server = await sink({ port });
    await mailer.send(email('order-b'));
    expect(server.received.map((message) => message.headers.get('x-order-id'))).toEqual(['order-b']);
  });

  it('reports wrong credentials as transient: it is the configuration, not the order, that must change', async () => {
    const server = await sink({ credentials: { user: 'mailer', pass: 'right' } });
    const failure = await sendFailure(mailerFor(`smtp://mailer:wrong@127.0.0.1:${server.port}`), email('order-c'));
    expect(failure.transient).toBe(true);
    expect(server.received).toHaveLength(0);
  });

  it('reports a recipient the server refuses for good as not transient', async () => {
    const server = await sink({ refuseRecipient: (address) => address === 'nobody@example.com' });
    const mailer = mailerFor(server.url);
    const failure = await sendFailure(mailer, email('order-d', 'FAILED', 'nobody@example.com'));
    expect(failure.transient).toBe(false);
    expect(failure.message).toContain('550');
    expect(server.refused).toEqual(['nobody@example.com']);
    // The connection stays usable for the next customer.
    await mailer.send(email('order-e'));
    expect(server.received.map((message) => message.headers.get('x-order-id'))).toEqual(['order-e']);
  });
});

describe('the local outbox', () => {
  it('writes one readable .eml file per order, replaced (not doubled) when the email is sent again', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'outbox-test-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const outbox = path.join(directory, 'nested', 'outbox');
    const mailer = outboxMailer({ outboxDir: outbox, from, smtpTimeoutMs: 1_000, smtpMaxConnections: 1 }, logger);
    expect(mailer.destination).toBe(outbox);

    const receipt = await mailer.send(email('order/f'));
    expect(receipt.detail).toBe(path.join(outbox, 'order-order=2Ff.eml'));
    await mailer.send(email('order/f'));
    await mailer.send(email('order-g', 'FAILED'));
    expect((await readdir(outbox)).sort()).toEqual(['order-order-g.eml', 'order-order=2Ff.eml']);

    const raw = await readFile(path.join(outbox, 'order-order=2Ff.eml'), 'utf8');
    expect(raw).toContain('\r\n');
    const { headers, text } = parseMessage(raw);
    expect(headers.get('to')).toBe('ada@example.com');
    expect(headers.get('subject')).toBe('Your order order/f confirmed (VALIDATED)');
    expect(headers.get('message-id')).toBe('<order-order=2Ff@ecosystem.test>');
    expect(text).toContain('Paid:      9.00 GBP (payment pay-order/f)');
  });
});

function index(id: string): number {
  return Number(id.split('-').at(-1));
}
