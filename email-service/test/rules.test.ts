import type { Customer, Order, Payment } from '@ecosystem/avro';
import { describe, expect, it } from 'vitest';
import {
  addressOf,
  classifySendFailure,
  enrichOrder,
  formatAmount,
  idToken,
  isOutcome,
  messageIdFor,
  outboxFileName,
  outcomeEmail,
  routedLevel,
  UndeliverableOutcome,
} from '../src/rules.ts';

const order = (state: Order['state'], id = 'o-1'): Order => ({ id, customerId: 5, state, product: 'JUMPERS', quantity: 3, price: 12.5 });
const payment: Payment = { id: 'p-1', orderId: 'o-1', ccy: 'eur', amount: 37.5 };
const customer: Customer = { id: 5, firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com', address: '1 Navy Way', level: 'gold' };
const sender = 'Shop <orders@shop.example>';

describe('outcome emails', () => {
  it('go to the customer and name the order, its state, product, quantity and amount paid', () => {
    const email = outcomeEmail({ order: order('VALIDATED'), payment, customer }, sender);
    expect(email).toMatchObject({ orderId: 'o-1', state: 'VALIDATED', from: sender, to: 'grace@example.com', messageId: '<order-o-1@shop.example>' });
    expect(email.subject).toBe('Your order o-1 confirmed (VALIDATED)');
    expect(email.text).toContain('Dear Grace Hopper,');
    expect(email.text).toContain('State:     VALIDATED');
    expect(email.text).toContain('Product:   JUMPERS');
    expect(email.text).toContain('Quantity:  3');
    expect(email.text).toContain('Paid:      37.50 EUR (payment p-1)');
    expect(email.headers).toEqual({ 'X-Order-Id': 'o-1', 'X-Order-State': 'VALIDATED' });
  });

  it('say so when the order failed', () => {
    const email = outcomeEmail({ order: order('FAILED'), payment, customer }, sender);
    expect(email.subject).toBe('Your order o-1 could not be accepted (FAILED)');
    expect(email.text).toContain('did not pass our checks and will not be shipped.');
    expect(email.text).toContain('State:     FAILED');
  });

  it('are the same email, with the same Message-ID, however often they are built', () => {
    const first = outcomeEmail({ order: order('VALIDATED'), payment, customer }, sender);
    const again = outcomeEmail({ order: order('VALIDATED'), payment: { ...payment, id: 'p-2' }, customer }, sender);
    expect(again.messageId).toBe(first.messageId);
  });

  it('cannot be built without a customer or a valid address: that is bad data, not a reason to retry', () => {
    expect(() => outcomeEmail({ order: order('VALIDATED'), payment, customer: undefined }, sender)).toThrow(UndeliverableOutcome);
    expect(() => outcomeEmail({ order: order('VALIDATED'), payment, customer: undefined }, sender)).toThrow('customer 5 is unknown');
    expect(() => outcomeEmail({ order: order('VALIDATED'), payment, customer: { ...customer, email: 'not-an-address' } }, sender)).toThrow('no valid email address');
    expect(() => outcomeEmail({ order: order('VALIDATED'), payment, customer: { ...customer, email: '' } }, sender)).toThrow(UndeliverableOutcome);
  });

  it('trim the address and tolerate a customer without a name', () => {
    const email = outcomeEmail({ order: order('VALIDATED'), payment, customer: { ...customer, email: ' grace@example.com ', firstName: '', lastName: '' } }, sender);
    expect(email.to).toBe('grace@example.com');
    expect(email.text).toContain('Dear customer,');
  });

  it('are only for outcomes', () => {
    expect(() => outcomeEmail({ order: order('CREATED'), payment, customer }, sender)).toThrow('only VALIDATED and FAILED');
    expect([order('CREATED'), order('VALIDATED'), order('FAILED'), order('SHIPPED'), null].map(isOutcome)).toEqual([false, true, true, false, false]);
  });
});

describe('ids in headers and file names', () => {
  it('keep ordinary ids readable', () => {
    expect(idToken('3f2b8c1e-0c4d-4b8a-9f6e-1a2b3c4d5e6f')).toBe('3f2b8c1e-0c4d-4b8a-9f6e-1a2b3c4d5e6f');
    expect(outboxFileName('o_1')).toBe('order-o_1.eml');
  });

  it('encode anything that could break a header or a path', () => {
    expect(idToken('../etc/passwd')).toBe('=2E=2E=2Fetc=2Fpasswd');
    expect(idToken('a b<c>@d')).toBe('a=20b=3Cc=3E=40d');
    expect(idToken('é')).toBe('=C3=A9');
    expect(idToken('')).toBe('=');
    expect(outboxFileName('a/b')).toBe('order-a=2Fb.eml');
  });

  it('keep long ids short and distinct', () => {
    const long = 'x'.repeat(500);
    expect(idToken(long).length).toBeLessThanOrEqual(120);
    expect(idToken(long)).not.toBe(idToken(`${long}y`));
  });

  it('put the sender domain into the Message-ID', () => {
    expect(messageIdFor('a.b', 'orders@shop.example')).toBe('<order-a=2Eb@shop.example>');
  });

  it('read the address out of a mailbox', () => {
    expect(addressOf('Shop <orders@shop.example>')).toBe('orders@shop.example');
    expect(addressOf('orders@shop.example')).toBe('orders@shop.example');
    expect(addressOf('Shop')).toBeUndefined();
    expect(addressOf('Shop <orders>')).toBeUndefined();
  });

  it('format amounts with their currency', () => {
    expect(formatAmount(10, 'usd')).toBe('10.00 USD');
    expect(formatAmount(0.125, ' GBP ')).toBe('0.13 GBP');
    expect(formatAmount(5, '')).toBe('5.00 (no currency)');
  });
});

describe('routing by customer level', () => {
  it('routes each of the four levels to its own name, whatever the case and spacing', () => {
    expect(['platinum', 'gold', 'silver', 'bronze'].map(routedLevel)).toEqual(['platinum', 'gold', 'silver', 'bronze']);
    expect(routedLevel(' Gold ')).toBe('gold');
  });

  it('refuses a level that is none of them', () => {
    expect(() => routedLevel('diamond')).toThrow('customer level "diamond" is not one of platinum, gold, silver, bronze');
    expect(() => routedLevel('')).toThrow('is not one of');
  });

  it('enriches a created order with its customer level', () => {
    expect(enrichOrder(order('CREATED'), customer)).toEqual({ id: 'o-1', customerId: 5, customerLevel: 'gold' });
    expect(enrichOrder(order('CREATED'), { ...customer, level: 'SILVER' })).toEqual({ id: 'o-1', customerId: 5, customerLevel: 'silver' });
    expect(() => enrichOrder(order('CREATED'), undefined)).toThrow('customer 5 is unknown');
  });
});

describe('send failures', () => {
  it('retry when the server is unreachable, slow, busy or refuses our own credentials or sender', () => {
    expect(classifySendFailure({ code: 'ESOCKET' })).toBe('retry');
    expect(classifySendFailure({ code: 'ECONNECTION' })).toBe('retry');
    expect(classifySendFailure({ code: 'ETIMEDOUT' })).toBe('retry');
    expect(classifySendFailure({ code: 'EAUTH', responseCode: 535, permanent: true, command: 'AUTH PLAIN' })).toBe('retry');
    expect(classifySendFailure({ code: 'EENVELOPE', responseCode: 451, permanent: false, command: 'RCPT TO' })).toBe('retry');
    expect(classifySendFailure({ code: 'EENVELOPE', responseCode: 550, permanent: true, command: 'MAIL FROM' })).toBe('retry');
    expect(classifySendFailure({ code: 'EMESSAGE', responseCode: 421, permanent: false, command: 'DATA' })).toBe('retry');
    expect(classifySendFailure({})).toBe('retry');
  });

  it('reject when the server refuses the recipient or the message for good', () => {
    expect(classifySendFailure({ code: 'EENVELOPE', responseCode: 550, permanent: true, command: 'RCPT TO' })).toBe('reject');
    expect(classifySendFailure({ code: 'EMESSAGE', responseCode: 554, permanent: true, command: 'DATA' })).toBe('reject');
    expect(classifySendFailure({ code: 'EENVELOPE', command: 'API' })).toBe('reject');
  });
});
