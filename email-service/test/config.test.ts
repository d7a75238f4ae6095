import { ConfigError, loadConfig } from '@ecosystem/platform';
import { describe, expect, it } from 'vitest';
import { emailConfig, isSmtpUrl, redactUrl } from '../src/config.ts';

describe('email configuration', () => {
  it('writes to the local outbox by default', () => {
    const config = loadConfig(emailConfig, {});
    expect(config.SMTP_URL).toBeUndefined();
    expect(config).toMatchObject({ OUTBOX_DIR: '.local/outbox', MAIL_FROM: 'Order Ecosystem <orders@ecosystem.local>', SMTP_TIMEOUT_MS: 5_000 });
  });

  it('treats an empty SMTP_URL as unset', () => {
    expect(loadConfig(emailConfig, { SMTP_URL: '' }).SMTP_URL).toBeUndefined();
  });

  it('takes smtp and smtps URLs and refuses anything else, naming the variable', () => {
    expect(loadConfig(emailConfig, { SMTP_URL: 'smtp://user:pass@127.0.0.1:2525' }).SMTP_URL).toBe('smtp://user:pass@127.0.0.1:2525');
    expect(isSmtpUrl('smtps://mail.example.com')).toBe(true);
    expect(isSmtpUrl('http://mail.example.com')).toBe(false);
    expect(isSmtpUrl('mail.example.com:25')).toBe(false);
    expect(() => loadConfig(emailConfig, { SMTP_URL: 'mail.example.com:25' })).toThrow(ConfigError);
    expect(() => loadConfig(emailConfig, { SMTP_URL: 'mail.example.com:25' })).toThrow(/SMTP_URL: expected smtp:/);
  });

  it('needs an address in MAIL_FROM', () => {
    expect(loadConfig(emailConfig, { MAIL_FROM: 'Shop <orders@shop.example>' }).MAIL_FROM).toBe('Shop <orders@shop.example>');
    expect(() => loadConfig(emailConfig, { MAIL_FROM: 'Shop' })).toThrow(/MAIL_FROM: expected an address/);
  });

  it('never logs the SMTP password', () => {
    expect(redactUrl('smtp://user:secret@127.0.0.1:2525')).toBe('smtp://user:***@127.0.0.1:2525');
    expect(redactUrl('smtp://127.0.0.1:2525')).toBe('smtp://127.0.0.1:2525');
  });
});
