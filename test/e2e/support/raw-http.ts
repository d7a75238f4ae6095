import http from 'node:http';
import net from 'node:net';

/**
 * HTTP/1.1 exchanges for fuzzing a server: over a raw socket, so that any bytes at all can be
 * sent (an HTTP client library refuses bad methods, headers and framing), or over a keep-alive
 * agent, so that several requests share a connection as real clients do.
 */

/** A request as the bytes it is made of. `raw`, when set, replaces the whole serialized request. */
export interface RequestSpec {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  version?: string;
  raw?: Buffer;
  /** Raw socket only: stop sending after the request (a client that gives up mid-request). */
  halfClose?: boolean;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** What came back: an answer, or why there was none (never thrown: a fuzz run tallies failures). */
export type Exchange = { ok: true; answer: HttpAnswer; ms: number } | { ok: false; failure: string; ms: number; received: Buffer };

/** Header text is written byte for byte (latin1), so header values may hold any octet. */
export function serializeRequest(request: RequestSpec, extraHeaders: Array<[string, string]> = []): Buffer {
  if (request.raw) return request.raw;
  const head = `${request.method} ${request.target} ${request.version ?? 'HTTP/1.1'}\r\n${[...request.headers, ...extraHeaders].map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), request.body ?? Buffer.alloc(0)]);
}

/** A request in readable form for failure reports: printable ASCII as is, everything else escaped. */
export function describeRequest(request: RequestSpec, limit = 1_500): string {
  const bytes = serializeRequest(request);
  let text = '';
  for (const byte of bytes.subarray(0, limit)) {
    if (byte === 0x0d) text += '\\r';
    else if (byte === 0x0a) text += '\\n\n';
    else if (byte === 0x5c) text += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return bytes.length > limit ? `${text}... (${bytes.length} bytes in all)` : text;
}

type Parsed = { state: 'complete'; answer: HttpAnswer } | { state: 'incomplete' } | { state: 'malformed'; reason: string };

/**
 * Parses one response (after any 1xx interim responses) from the bytes received so far.
 * `closed`: the server closed the connection, so a body without a length ends here.
 */
export function parseResponse(bytes: Buffer, options: { head: boolean; closed: boolean }): Parsed {
  let start = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', start, 'latin1');
    if (end < 0) return options.closed ? { state: 'malformed', reason: bytes.length === start ? 'no answer' : 'the head of the answer is cut off' } : { state: 'incomplete' };
    const [statusLine = '', ...lines] = bytes.subarray(start, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
    if (!match) return { state: 'malformed', reason: `bad status line ${JSON.stringify(statusLine)}` };
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) return { state: 'malformed', reason: `bad header line ${JSON.stringify(line)}` };
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      start = bodyStart;
      continue;
    }
    if (options.head || status === 204 || status === 304) return { state: 'complete', answer: { status, headers, body: Buffer.alloc(0) } };
    if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) return parseChunked(bytes, bodyStart, status, headers, options.closed);
    const lengthHeader = headers['content-length'];
    if (lengthHeader !== undefined) {
      if (!/^\d+$/.test(lengthHeader)) return { state: 'malformed', reason: `bad content-length ${lengthHeader}` };
      const length = Number(lengthHeader);
      if (bytes.length - bodyStart >= length) return { state: 'complete', answer: { status, headers, body: bytes.subarray(bodyStart, bodyStart + length) } };
      return options.closed ? { state: 'malformed', reason: `body cut off at ${bytes.length - bodyStart} of ${length} bytes` } : { state: 'incomplete' };
    }
    return options.closed ? { state: 'complete', answer: { status, headers, body: bytes.subarray(bodyStart) } } : { state: 'incomplete' };
  }
}

function parseChunked(bytes: Buffer, from: number, status: number, headers: Record<string, string>, closed: boolean): Parsed {
  const chunks: Buffer[] = [];
  let position = from;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', position, 'latin1');
    if (lineEnd < 0) return closed ? { state: 'malformed', reason: 'chunked body cut off' } : { state: 'incomplete' };
    const size = Number.parseInt(bytes.subarray(position, lineEnd).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size)) return { state: 'malformed', reason: 'bad chunk size' };
    const dataEnd = lineEnd + 2 + size;
    if (bytes.length < dataEnd + 2) return closed ? { state: 'malformed', reason: 'chunked body cut off' } : { state: 'incomplete' };
    if (size === 0) return { state: 'complete', answer: { status, headers, body: Buffer.concat(chunks) } };
    chunks.push(bytes.subarray(lineEnd + 2, dataEnd));
    position = dataEnd + 2;
  }
}

/**
 * Sends one request on a new connection and reads one answer. HTTP/1.x requests get
 * `Connection: close`, so the server ends the connection after answering; the answer counts
 * as soon as it is complete. A write error after a complete answer (the server refused a big
 * body before reading it) is not a failure.
 */
export function exchangeRaw(port: number, request: RequestSpec, timeoutMs: number): Promise<Exchange> {
  const closeHeader: Array<[string, string]> = request.raw ? [] : [['Connection', 'close']];
  const bytes = serializeRequest(request, closeHeader);
  const head = request.method === 'HEAD';
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let connectionError: string | undefined;
    let settled = false;
    const settle = (exchange: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(exchange);
    };
    const evaluate = (closed: boolean) => {
      const parsed = parseResponse(received, { head, closed });
      if (parsed.state === 'complete') settle({ ok: true, answer: parsed.answer, ms: Date.now() - started });
      else if (parsed.state === 'malformed') {
        const reason = parsed.reason === 'no answer' ? `the connection was closed without an answer${connectionError ? ` (${connectionError})` : ''}` : `malformed answer: ${parsed.reason}`;
        settle({ ok: false, failure: reason, ms: Date.now() - started, received });
      }
    };
    const timer = setTimeout(() => settle({ ok: false, failure: `no complete answer within ${timeoutMs} ms`, ms: Date.now() - started, received }), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      evaluate(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      connectionError = error.code ?? error.message;
    });
    socket.on('close', () => evaluate(true));
    socket.write(bytes, () => {
      if (request.halfClose) socket.end();
    });
  });
}

/**
 * Sends a well-formed request through a keep-alive agent (connections are reused between
 * requests, so an answer that leaves a connection in a bad state shows up in the next one).
 */
export function exchangeKeepAlive(agent: http.Agent, port: number, request: RequestSpec, timeoutMs: number): Promise<Exchange> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const settle = (exchange: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(exchange);
    };
    const outgoing = http.request({ agent, host: '127.0.0.1', port, method: request.method, path: request.target, headers: request.headers.flat() }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
        settle({ ok: true, answer: { status: response.statusCode ?? 0, headers, body: Buffer.concat(chunks) }, ms: Date.now() - started });
      });
      response.on('error', (error) => settle({ ok: false, failure: `the answer broke off: ${error.message}`, ms: Date.now() - started, received: Buffer.alloc(0) }));
    });
    const timer = setTimeout(() => {
      settle({ ok: false, failure: `no complete answer within ${timeoutMs} ms`, ms: Date.now() - started, received: Buffer.alloc(0) });
      outgoing.destroy();
    }, timeoutMs);
    outgoing.on('error', (error: NodeJS.ErrnoException) => settle({ ok: false, failure: `connection error: ${error.code ?? error.message}`, ms: Date.now() - started, received: Buffer.alloc(0) }));
    outgoing.end(request.body);
  });
}
