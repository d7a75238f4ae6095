import { describe, expect, it } from 'vitest';
import { instanceUrl, plainEndpoint } from '../src/endpoints.ts';

describe('the endpoint an instance advertises', () => {
  it('is a host name, an IPv4 or a bracketed IPv6 address, and a port', () => {
    for (const endpoint of ['127.0.0.1:8000', 'orders-service:8000', 'Orders.Example.com:443', '[::1]:8001']) expect(plainEndpoint(endpoint), endpoint).toBe(endpoint);
  });

  it('is nothing that would make a URL call another host, path or port than it says', () => {
    const odd = ['user@127.0.0.1:9200', '127.0.0.1:9200/', '127.0.0.1:9200/x:80', 'host#:80', 'evil.com?:80', 'host:0', 'host:65536', ':80', 'host', '127.1:80', '0x7f.0.0.1:80', '[::1]x:80', 'http://host:80', 'host:80 ', ' host:80', 'ho st:80'];
    for (const endpoint of odd) expect(plainEndpoint(endpoint), endpoint).toBeUndefined();
  });

  it('makes a URL of the path and query the caller gives, on that host and port only', () => {
    expect(String(instanceUrl('127.0.0.1:8001', '/v1/orders/a%2Fb', { timeout: '10' }))).toBe('http://127.0.0.1:8001/v1/orders/a%2Fb?timeout=10');
    expect(instanceUrl('user@127.0.0.1:9200', '/v1/orders/x')).toBeUndefined();
    expect(instanceUrl('127.0.0.1:8001', '//127.0.0.1:9200/v1/orders/x')).toBeUndefined();
    expect(instanceUrl('127.0.0.1:8001', 'http://127.0.0.1:9200/v1/orders/x')).toBeUndefined();
  });
});
