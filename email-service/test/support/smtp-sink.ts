import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** A message as the SMTP server received it. */
export interface ReceivedEmail {
  envelopeFrom: string;
  envelopeTo: string[];
  /** The message as sent (RFC 822), headers and body. */
  raw: string;
  /** Header name (lower case) → unfolded value; the last one wins. */
  headers: Map<string, string>;
  /** The body, with quoted-printable or base64 decoded. */
  text: string;
}

export interface SmtpSink {
  port: number;
  /** `smtp://user:pass@127.0.0.1:port` (credentials when the sink requires them). */
  url: string;
  received: ReceivedEmail[];
  /** RCPT TO addresses the sink refused. */
  refused: string[];
  /** The first message (already received or still to come) that matches. */
  waitFor(predicate: (email: ReceivedEmail) => boolean, timeoutMs?: number): Promise<ReceivedEmail>;
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** When set, the sink requires AUTH with these credentials. */
  credentials?: { user: string; pass: string };
  /** Recipients refused with a permanent 550. */
  refuseRecipient?: (address: string) => boolean;
}

/**
 * A real SMTP server (the `smtp-server` library) on a loopback port that keeps every
 * message it accepts, for tests that deliver email over the wire.
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedEmail[] = [];
  const refused: string[] = [];
  const listeners = new Set<(email: ReceivedEmail) => void>();
  const { credentials } = options;

  const serverOptions: SMTPServerOptions = {
    logger: false,
    // Plain loopback SMTP: no STARTTLS (the built-in certificate would not verify).
    disabledCommands: credentials ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !credentials,
    allowInsecureAuth: true,
    closeTimeout: 200,
    onAuth(auth, _session, callback) {
      if (credentials && auth.username === credentials.user && auth.password === credentials.pass) return callback(null, { user: auth.username });
      const error = Object.assign(new Error('Invalid username or password'), { responseCode: 535 });
      callback(error);
    },
    onRcptTo(address, _session, callback) {
      if (options.refuseRecipient?.(address.address)) {
        refused.push(address.address);
        return callback(Object.assign(new Error(`Mailbox ${address.address} does not exist`), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const from = session.envelope.mailFrom;
        const email: ReceivedEmail = {
          envelopeFrom: from ? from.address : '',
          envelopeTo: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw,
          ...parseMessage(raw),
        };
        received.push(email);
        for (const listener of listeners) listener(email);
        callback();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.server.address();
  if (typeof address !== 'object' || !address) throw new Error('the SMTP sink has no address');
  const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.pass)}@` : '';

  return {
    port: address.port,
    url: `smtp://${auth}127.0.0.1:${address.port}`,
    received,
    refused,
    waitFor(predicate, timeoutMs = 30_000) {
      const found = received.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const listener = (email: ReceivedEmail) => {
          if (!predicate(email)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(email);
        };
        const timer = setTimeout(() => {
          listeners.delete(listener);
          const seen = received.map((email) => `${email.envelopeTo.join(',')}: ${email.headers.get('subject') ?? ''}`);
          reject(new Error(`no matching email within ${timeoutMs} ms; received ${received.length}: ${JSON.stringify(seen)}`));
        }, timeoutMs);
        listeners.add(listener);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Headers and decoded body of an RFC 822 message (single part, as the email service writes them). */
export function parseMessage(raw: string): { headers: Map<string, string>; text: string } {
  const normalized = raw.replace(/\r\n/g, '\n');
  const split = normalized.indexOf('\n\n');
  const head = split < 0 ? normalized : normalized.slice(0, split);
  const body = split < 0 ? '' : normalized.slice(split + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  let text = body;
  if (encoding === 'quoted-printable') {
    text = Buffer.from(
      body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/gi, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
  } else if (encoding === 'base64') {
    text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return { headers, text };
}
