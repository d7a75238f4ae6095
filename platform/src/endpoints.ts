import { HttpError } from './http.ts';

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

/**
 * Asks another instance of this service for its share of an interactive query: `path` and `query`
 * on `endpoint`, answered with JSON. What goes wrong is the HttpError to answer the client with:
 * 503 while that instance is not ready (the group is rebalancing), 502 when it cannot be asked,
 * does not answer in `timeoutMs`, or answers anything but 200. `who` names it in those errors.
 */
export async function askInstance(endpoint: string, path: string, options: { who: string; timeoutMs: number; query?: Record<string, string>; headers?: Record<string, string> }): Promise<unknown> {
  const { who } = options;
  const url = instanceUrl(endpoint, path, options.query);
  if (!url) throw new HttpError(502, `${who} advertises an address that is no host:port`, { instance: endpoint });
  let response: Response;
  try {
    response = await fetch(url, { headers: options.headers ?? {}, redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (error) {
    // fetch's own message is "fetch failed": the cause says why.
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new HttpError(502, `${who} did not answer`, { instance: endpoint, reason: `${error instanceof Error ? error.message : String(error)}${cause}` });
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status === 503) throw new HttpError(503, `${who} is not ready (rebalancing); retry`, { instance: endpoint, answer: body });
  if (response.status !== 200) throw new HttpError(502, `${who} answered ${response.status}`, { instance: endpoint, answer: body });
  return body;
}
