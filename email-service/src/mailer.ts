import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@ecosystem/platform';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { MailerSettings } from './config.ts';
import { redactUrl } from './config.ts';
import { classifySendFailure, outboxFileName, type OutcomeEmail, type SendError } from './rules.ts';

/** Where an email went: the SMTP server's answer, or the outbox file. */
export interface DeliveryReceipt {
  messageId: string;
  detail: string;
}

export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  /** Where emails go (the SMTP URL without its password, or the outbox directory). */
  readonly destination: string;
  /** Delivers one email, or throws `EmailNotSent`. */
  send(email: OutcomeEmail): Promise<DeliveryReceipt>;
  close(): Promise<void>;
}

/**
 * A send that failed. `transient` is what the streams runtime reads: a transient failure
 * retries the record with backoff (the partition waits, nothing is dropped); any other failure
 * sends the record to the dead-letter topic with this message.
 */
export class EmailNotSent extends Error {
  override name = 'EmailNotSent';

  constructor(
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function mailOptions(email: OutcomeEmail): SendMailOptions {
  return { from: email.from, to: email.to, subject: email.subject, text: email.text, messageId: email.messageId, headers: email.headers };
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Sends through an SMTP server with a pool of connections. */
export function smtpMailer(settings: MailerSettings & { smtpUrl: string }, logger: Logger): Mailer {
  const transporter = nodemailer.createTransport({
    url: settings.smtpUrl,
    pool: true,
    maxConnections: settings.smtpMaxConnections,
    connectionTimeout: settings.smtpTimeoutMs,
    greetingTimeout: settings.smtpTimeoutMs,
    socketTimeout: settings.smtpTimeoutMs,
    // Message contents come from data: never let them make the mailer read files or URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const destination = redactUrl(settings.smtpUrl);
  return {
    kind: 'smtp',
    destination,
    async send(email) {
      try {
        const info = await transporter.sendMail(mailOptions(email));
        logger.info({ orderId: email.orderId, state: email.state, to: email.to, messageId: email.messageId, response: info.response }, 'email sent');
        return { messageId: email.messageId, detail: info.response };
      } catch (error) {
        const transient = classifySendFailure(error as SendError) === 'retry';
        throw new EmailNotSent(`email about order ${email.orderId} to ${email.to} not sent through ${destination}: ${describeFailure(error)}`, transient, { cause: error });
      }
    },
    async close() {
      transporter.close();
    },
  };
}

/**
 * Writes each email as an RFC 822 file `order-<id>.eml` (any mail client opens it) and logs a
 * line. The file is written under a temporary name and renamed, so a reader never sees half an
 * email, and a resent email replaces its earlier copy instead of adding a second one.
 */
export function outboxMailer(settings: MailerSettings, logger: Logger): Mailer {
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows', disableFileAccess: true, disableUrlAccess: true });
  const directory = path.resolve(settings.outboxDir);
  let created: Promise<unknown> | undefined;
  return {
    kind: 'outbox',
    destination: directory,
    async send(email) {
      const file = path.join(directory, outboxFileName(email.orderId));
      try {
        const info = await transporter.sendMail(mailOptions(email));
        if (!Buffer.isBuffer(info.message)) throw new Error('the mail library returned a stream instead of a buffer');
        created ??= mkdir(directory, { recursive: true }).catch((error: unknown) => {
          created = undefined;
          throw error;
        });
        await created;
        const partial = `${file}.${process.pid}.partial`;
        await writeFile(partial, info.message);
        await rename(partial, file);
      } catch (error) {
        // A full disk or a missing permission is the machine's problem, not the order's: retry.
        throw new EmailNotSent(`email about order ${email.orderId} to ${email.to} not written to ${directory}: ${describeFailure(error)}`, true, { cause: error });
      }
      logger.info({ orderId: email.orderId, state: email.state, to: email.to, subject: email.subject, messageId: email.messageId, file }, 'email written to the outbox');
      return { messageId: email.messageId, detail: file };
    },
    async close() {
      transporter.close();
    },
  };
}

export function createMailer(settings: MailerSettings, logger: Logger): Mailer {
  return settings.smtpUrl ? smtpMailer({ ...settings, smtpUrl: settings.smtpUrl }, logger) : outboxMailer(settings, logger);
}
