import net from 'node:net';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { SASLOptions } from '@platformatic/kafka';
import { nestedErrors } from './errors.ts';

/** The SASL mechanisms the project supports (those Kafka, Confluent Cloud and MSK offer with a user and a password). */
export const saslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof saslMechanisms)[number];

/**
 * How clients reach the brokers: in the clear (the default), over TLS, with SASL credentials,
 * or both (SASL_SSL, what Confluent Cloud and most managed clusters want).
 */
export interface KafkaSecurity {
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /**
   * TLS to every broker: Node's TLS options (`ca` for a private CA, `cert`/`key`/`passphrase`
   * for a client certificate, `rejectUnauthorized`). An empty object is TLS with the system's
   * trusted CAs.
   */
  tls?: TlsOptions;
}

/** The connection options @platformatic/kafka takes for `security`, for every producer, consumer and admin client. */
export function connectionSecurity(security: KafkaSecurity | undefined, brokers: readonly string[]): { sasl?: SASLOptions; tls?: TlsOptions; tlsServerName?: boolean } {
  if (!security) return {};
  return {
    ...(security.sasl ? { sasl: { mechanism: security.sasl.mechanism, username: security.sasl.username, password: security.sasl.password } } : {}),
    ...(security.tls
      ? {
          tls: { ...security.tls },
          // The broker's name goes in the TLS handshake (SNI), which clusters behind a shared
          // endpoint (Confluent Cloud) need to route the connection; an IP address must not be sent.
          tlsServerName: brokers.some((broker) => net.isIP(hostOf(broker)) === 0),
        }
      : {}),
  };
}

function hostOf(broker: string): string {
  const colon = broker.lastIndexOf(':');
  const host = colon > 0 ? broker.slice(0, colon) : broker;
  return host.replace(/^\[|\]$/g, '');
}

export type KafkaSecurityFailure =
  /** The broker refused the user name and password. */
  | 'credentials'
  /** The broker does not offer the SASL mechanism (or no SASL at all on that listener). */
  | 'mechanism'
  /** The broker's TLS certificate is not trusted (unknown CA, wrong host name, expired). */
  | 'certificate'
  /** TLS was asked for but the broker does not speak it on that port. */
  | 'tls-handshake';

/**
 * The brokers refused this client's credentials or TLS setup. Retrying cannot help, so the
 * factory's `verify()` throws it at once: one line saying what was refused and why.
 */
export class KafkaSecurityError extends Error {
  constructor(
    readonly failure: KafkaSecurityFailure,
    readonly broker: string,
    /** What the broker or the TLS layer said. */
    readonly reason: string,
    readonly sasl?: { mechanism: SaslMechanism; username: string },
  ) {
    super(securityMessage(failure, broker, reason, sasl));
    this.name = 'KafkaSecurityError';
  }
}

function securityMessage(failure: KafkaSecurityFailure, broker: string, reason: string, sasl?: { mechanism: SaslMechanism; username: string }): string {
  switch (failure) {
    case 'credentials':
      return `Kafka at ${broker} rejected the SASL credentials of user "${sasl?.username ?? '?'}" (${sasl?.mechanism ?? 'SASL'}): ${reason}`;
    case 'mechanism':
      return `Kafka at ${broker} does not accept SASL ${sasl?.mechanism ?? ''} on this listener: ${reason}`;
    case 'certificate':
      return `The TLS certificate of Kafka at ${broker} is not trusted: ${reason}`;
    case 'tls-handshake':
      return `Kafka at ${broker} does not speak TLS on this port: ${reason}`;
  }
}

/** Node's codes for a certificate the client cannot trust: retrying will not change them. */
const certificateCodes = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The security failure in a failed connection, if that is what it was: wrong credentials, a
 * mechanism the broker does not offer, an untrusted certificate, TLS against a plain port.
 * Anything else (a broker away, a timeout) is undefined: those may pass by themselves.
 */
export function securityFailure(error: unknown, security: KafkaSecurity | undefined, brokers: readonly string[]): KafkaSecurityError | undefined {
  const entries = [...nestedErrors(error)];
  const broker = entries.map((entry) => /^Connection to (\S+) failed/.exec(String(entry.message ?? ''))?.[1]).find(Boolean) ?? brokers.join(',');
  const sasl = security?.sasl ? { mechanism: security.sasl.mechanism, username: security.sasl.username } : undefined;
  const rejected = entries.find((entry) => entry.apiId === 'SASL_AUTHENTICATION_FAILED');
  if (rejected) return new KafkaSecurityError('credentials', broker, String(rejected.serverErrorMessage ?? rejected.message ?? 'authentication failed'), sasl);
  const authentication = entries.find((entry) => entry.code === 'PLT_KFK_AUTHENTICATION');
  if (authentication) {
    const said = entries.find((entry) => typeof entry.serverErrorMessage === 'string' && entry.serverErrorMessage !== '');
    const mechanismRefused = /suitable SASL mechanism/i.test(String(authentication.message));
    return new KafkaSecurityError(mechanismRefused ? 'mechanism' : 'credentials', broker, String(said?.serverErrorMessage ?? authentication.message), sasl);
  }
  const certificate = entries.find((entry) => typeof entry.code === 'string' && certificateCodes.has(entry.code));
  if (certificate) return new KafkaSecurityError('certificate', broker, `${String(certificate.message)} (${String(certificate.code)})`);
  const handshake = entries.find((entry) => /TLS handshake failed|wrong version number|ERR_SSL_WRONG_VERSION_NUMBER/i.test(`${String(entry.message)} ${String(entry.code)}`));
  if (handshake && security?.tls) return new KafkaSecurityError('tls-handshake', broker, String(handshake.message));
  return undefined;
}
