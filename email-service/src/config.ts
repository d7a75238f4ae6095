import { env } from '@ecosystem/platform';
import { z } from 'zod';
import { addressOf } from './rules.ts';

/** `smtp://[user:pass@]host[:port]` (STARTTLS when offered) or `smtps://...` (TLS from the start). */
export function isSmtpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** The URL without its password, for logs. */
export function redactUrl(value: string): string {
  const url = new URL(value);
  if (url.password) url.password = '***';
  return url.toString();
}

const unsetWhenEmpty = (value: unknown) => (value === '' ? undefined : value);

export const emailConfig = {
  /** Where emails go; without it they are written to OUTBOX_DIR. */
  SMTP_URL: z.preprocess(unsetWhenEmpty, z.string().refine(isSmtpUrl, 'expected smtp://[user:pass@]host[:port] or smtps://...').optional()),
  /** One RFC 822 `.eml` file per email when no SMTP server is configured. */
  OUTBOX_DIR: env.text('.local/outbox'),
  MAIL_FROM: env.text('Order Ecosystem <orders@ecosystem.local>').refine((value) => addressOf(value) !== undefined, 'expected an address, e.g. Shop <orders@example.com>'),
  /**
   * Longest wait for the SMTP server to connect, greet or answer. Keep it well below
   * SESSION_TIMEOUT_MS: a send blocks its partition, and the consumer must keep heartbeating.
   */
  SMTP_TIMEOUT_MS: env.milliseconds(5_000),
  SMTP_MAX_CONNECTIONS: env.positiveInt(5),
  /**
   * How long an emailed order is remembered, so that a second outcome or payment of it sends no
   * second email (default 1 hour, well beyond the payment window): the guard keeps recent orders,
   * not every order ever.
   */
  EMAILED_RETENTION_MS: env.milliseconds(60 * 60 * 1_000),
};

export interface MailerSettings {
  smtpUrl?: string | undefined;
  outboxDir: string;
  from: string;
  smtpTimeoutMs: number;
  smtpMaxConnections: number;
}
