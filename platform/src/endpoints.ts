/**
 * The address one instance of a service gives the others of its consumer group (Kafka
 * Streams' `application.server`): a host name, an IPv4 address or a bracketed IPv6 address,
 * and a port. Nothing else: no scheme, user, path, query or fragment, because the address is
 * put into a URL that this process then calls, and a group member's metadata is not the place
 * to choose what that URL means.
 */
const hostName = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const ipv6 = /^\[[0-9a-f:.]+\]$/i;

/** `value` when it is a plain host:port (see above), else undefined. */
export function plainEndpoint(value: string): string | undefined {
  const colon = value.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65_535) return undefined;
  if (!hostName.test(host) && !ipv6.test(host)) return undefined;
  // What the URL parser makes of it must be the same host and port (e.g. no IPv4 written in hex).
  try {
    const url = new URL(`http://${value}/`);
    if (url.hostname.toLowerCase() !== host.toLowerCase() || url.port !== (port === '80' ? '' : String(Number(port)))) return undefined;
  } catch {
    return undefined;
  }
  return value;
}

/**
 * The URL of `path` (and `query`) on another instance. The path and query are the caller's,
 * built from what the route decoded, never from the request target a client sent (which may be
 * an absolute URL naming any host). Undefined when `endpoint` is not a plain host:port.
 */
export function instanceUrl(endpoint: string, path: string, query?: Record<string, string>): URL | undefined {
  if (plainEndpoint(endpoint) === undefined || !path.startsWith('/') || path.startsWith('//')) return undefined;
  const url = new URL(`http://${endpoint}/`);
  url.pathname = path;
  if (query) url.search = new URLSearchParams(query).toString();
  return url;
}
