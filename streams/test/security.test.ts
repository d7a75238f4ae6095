import { AuthenticationError, kOptions, MultipleErrors, NetworkError, ProtocolError, UserError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { KafkaClients } from '../src/kafka/clients.ts';
import { connectionSecurity, KafkaSecurityError, securityFailure, type KafkaSecurity } from '../src/kafka/security.ts';

const security: KafkaSecurity = { sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', password: 'pw' }, tls: { ca: 'CA' } };

/** The options a client was built with (the library keeps them behind a symbol). */
function optionsOf(client: object): Record<string, unknown> {
  return (client as Record<typeof kOptions, Record<string, unknown>>)[kOptions];
}

describe('the client factory with TLS and SASL', () => {
  it('gives every producer, consumer and admin client the same SASL and TLS settings', async () => {
    const clients = new KafkaClients({ clientId: 'security-test', brokers: ['kafka.example:9092'], security });
    const made = [clients.producer(), clients.producer({ transactionalId: 'tx' }), clients.consumer('group'), clients.admin()];
    try {
      for (const client of made) {
        expect(optionsOf(client)).toMatchObject({ sasl: { mechanism: 'SCRAM-SHA-512', username: 'app', password: 'pw' }, tls: { ca: 'CA' }, tlsServerName: true });
      }
    } finally {
      await Promise.all(made.slice(0, 3).map((client) => client.close()));
      await clients.close();
    }
  });

  it('is plaintext without security, and sends no server name for IP addresses', () => {
    expect(connectionSecurity(undefined, ['127.0.0.1:9092'])).toEqual({});
    expect(connectionSecurity({ tls: {} }, ['127.0.0.1:9092', '[::1]:9093'])).toEqual({ tls: {}, tlsServerName: false });
    expect(connectionSecurity({ sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } }, ['broker:9092'])).toEqual({ sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } });
  });
});

describe('security failures', () => {
  const failedConnection = (cause: Error) => new MultipleErrors('Cannot connect to any broker.', [new NetworkError('Connection to 10.0.0.1:9093 failed.', { cause })]);

  it('tell refused credentials, with what the broker said', () => {
    const said = 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512';
    const error = failedConnection(new AuthenticationError('SASL authentication failed.', { cause: new ProtocolError('SASL_AUTHENTICATION_FAILED', said) }));
    const failure = securityFailure(error, security, ['10.0.0.1:9093']);
    expect(failure).toBeInstanceOf(KafkaSecurityError);
    expect(failure).toMatchObject({ failure: 'credentials', broker: '10.0.0.1:9093', reason: said, sasl: { mechanism: 'SCRAM-SHA-512', username: 'app' } });
    expect(failure!.message).toBe(`Kafka at 10.0.0.1:9093 rejected the SASL credentials of user "app" (SCRAM-SHA-512): ${said}`);
    expect(failure!.message).not.toContain('pw');
  });

  it('tell a mechanism the broker does not offer, an untrusted certificate, and TLS against a plain port', () => {
    const mechanism = failedConnection(new AuthenticationError('Cannot find a suitable SASL mechanism.', { cause: new ProtocolError('UNSUPPORTED_SASL_MECHANISM') }));
    expect(securityFailure(mechanism, security, [])?.failure).toBe('mechanism');
    const untrusted = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(securityFailure(failedConnection(untrusted), security, [])).toMatchObject({ failure: 'certificate', reason: 'self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)' });
    const plainPort = new UserError('TLS handshake failed. Please verify the broker supports TLS.');
    expect(securityFailure(failedConnection(plainPort), security, [])?.failure).toBe('tls-handshake');
  });

  it('leave other failures to the retries: a broker away, a timeout', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9093'), { code: 'ECONNREFUSED' });
    expect(securityFailure(failedConnection(refused), security, [])).toBeUndefined();
    expect(securityFailure(new NetworkError('Connection closed'), security, [])).toBeUndefined();
    expect(securityFailure(new Error('Request timed out'), undefined, [])).toBeUndefined();
  });
});
