import { createHash } from 'node:crypto';
import { customerLevels, isCustomerLevel, type Customer, type CustomerLevel, type Order, type OrderEnriched, type Payment } from '@ecosystem/avro';

/** The states that end an order: each one is worth exactly one email. */
export type OutcomeState = 'VALIDATED' | 'FAILED';

export function isOutcome(order: Order | null | undefined): order is Order & { state: OutcomeState } {
  return order?.state === 'VALIDATED' || order?.state === 'FAILED';
}

/** An order outcome joined with a payment for it and (if known) its customer. */
export interface PaidOutcome {
  order: Order;
  payment: Payment;
  customer?: Customer | undefined;
}

/** Everything an email needs, transport-neutral. */
export interface OutcomeEmail {
  orderId: string;
  state: OutcomeState;
  from: string;
  to: string;
  subject: string;
  text: string;
  /** `<...>`: derived from the order id alone, so a resent email is recognizably the same one. */
  messageId: string;
  headers: Record<string, string>;
}

/** Bad data in an outcome (no customer, no usable address): retrying cannot help, so the record is dead-lettered. */
export class UndeliverableOutcome extends Error {
  override name = 'UndeliverableOutcome';
}

const addressPattern = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

export function isEmailAddress(value: string): boolean {
  return addressPattern.test(value);
}

/** The address part of `Name <address>` or a bare address, when it is one. */
export function addressOf(mailbox: string): string | undefined {
  const trimmed = mailbox.trim();
  const angle = /<([^<>]+)>\s*$/.exec(trimmed);
  const address = (angle ? angle[1]! : trimmed).trim();
  return isEmailAddress(address) ? address : undefined;
}

/**
 * An order id as a token safe for a Message-ID's local part and for a file name: letters,
 * digits, `-` and `_` stay, anything else becomes `=XX` per UTF-8 byte. Long ids are cut and
 * completed with a hash of the whole id, so distinct ids stay distinct.
 */
export function idToken(orderId: string): string {
  const encoded = [...Buffer.from(orderId, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9_-]/.test(char) ? char : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  if (encoded.length <= 120) return encoded || '=';
  return `${encoded.slice(0, 100)}~${createHash('sha256').update(orderId, 'utf8').digest('hex').slice(0, 16)}`;
}

/** One Message-ID per order: every copy of an order's outcome email carries the same one. */
export function messageIdFor(orderId: string, senderAddress: string): string {
  const domain = senderAddress.split('@')[1] ?? 'email-service.local';
  return `<order-${idToken(orderId)}@${domain}>`;
}

/** The outbox file of an order's email: a resend overwrites it instead of adding a second file. */
export function outboxFileName(orderId: string): string {
  return `order-${idToken(orderId)}.eml`;
}

export function formatAmount(amount: number, currency: string): string {
  const code = currency.trim().toUpperCase() || '(no currency)';
  return `${Number.isFinite(amount) ? amount.toFixed(2) : String(amount)} ${code}`;
}

const verdicts: Record<OutcomeState, { subject: string; line: string }> = {
  VALIDATED: { subject: 'confirmed (VALIDATED)', line: 'passed all our checks and is confirmed.' },
  FAILED: { subject: 'could not be accepted (FAILED)', line: 'did not pass our checks and will not be shipped.' },
};

/**
 * The email a customer gets when their order ends, naming the order, its state, product,
 * quantity and the amount paid. Throws `UndeliverableOutcome` when nobody can be emailed.
 */
export function outcomeEmail({ order, payment, customer }: PaidOutcome, sender: string): OutcomeEmail {
  if (!isOutcome(order)) throw new Error(`order ${order.id} is ${order.state}: only VALIDATED and FAILED orders are emailed`);
  if (!customer) throw new UndeliverableOutcome(`order ${order.id}: customer ${order.customerId} is unknown, so there is no address to email`);
  const to = customer.email.trim();
  if (!isEmailAddress(to)) throw new UndeliverableOutcome(`order ${order.id}: customer ${customer.id} has no valid email address (${JSON.stringify(customer.email)})`);
  const senderAddress = addressOf(sender);
  if (!senderAddress) throw new Error(`the sender ${JSON.stringify(sender)} has no valid address`);
  const name = `${customer.firstName} ${customer.lastName}`.trim() || 'customer';
  const verdict = verdicts[order.state];
  const text = [
    `Dear ${name},`,
    '',
    `your order ${order.id} ${verdict.line}`,
    '',
    `  Order:     ${order.id}`,
    `  State:     ${order.state}`,
    `  Product:   ${order.product}`,
    `  Quantity:  ${order.quantity}`,
    `  Paid:      ${formatAmount(payment.amount, payment.ccy)} (payment ${payment.id})`,
    '',
    'Kind regards,',
    'Order Ecosystem',
    '',
  ].join('\n');
  return {
    orderId: order.id,
    state: order.state,
    from: sender,
    to,
    subject: `Your order ${order.id} ${verdict.subject}`,
    text,
    messageId: messageIdFor(order.id, senderAddress),
    headers: { 'X-Order-Id': order.id, 'X-Order-State': order.state },
  };
}

/** Customer levels come from a database: `Gold ` means gold; anything outside the four levels is bad data. */
export function routedLevel(level: string): CustomerLevel {
  const normalized = level.trim().toLowerCase();
  if (isCustomerLevel(normalized)) return normalized;
  throw new Error(`customer level ${JSON.stringify(level)} is not one of ${customerLevels.join(', ')}`);
}

/** A created order with its customer's level, to be routed to that level's topic. */
export function enrichOrder(order: Order, customer: Customer | undefined): OrderEnriched {
  if (!customer) throw new Error(`order ${order.id}: customer ${order.customerId} is unknown, so the order has no level to be routed by`);
  return { id: order.id, customerId: order.customerId, customerLevel: routedLevel(customer.level) };
}

/** The fields of a mail library's error that say what went wrong (nodemailer sets these). */
export interface SendError {
  code?: string | undefined;
  command?: string | undefined;
  responseCode?: number | undefined;
  permanent?: boolean | undefined;
}

/**
 * Whether a failed send may succeed later (`retry`) or the server refused this very message
 * for good (`reject`). Only a permanent (5xx) answer to the recipient or to the message
 * itself, or an address the library refuses to send to, rejects: an unreachable server,
 * timeouts, 4xx answers and refused credentials or sender (the service's configuration, not
 * the order's data) are all retried, so no email is given up because SMTP is down.
 */
export function classifySendFailure(error: SendError): 'retry' | 'reject' {
  if (error.permanent === true && (error.command === 'RCPT TO' || error.command === 'DATA')) return 'reject';
  if (error.code === 'EENVELOPE' && error.command === 'API') return 'reject';
  return 'retry';
}

