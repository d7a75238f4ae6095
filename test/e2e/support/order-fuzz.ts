import { productSymbols } from '@ecosystem/avro';
import type { Prng } from './prng.ts';
import type { RequestSpec } from './raw-http.ts';

/**
 * Requests for fuzzing the orders API (README "The orders API"), each with the answer it must
 * get. Every case is built from the seeded generator alone, so a seed replays the same run.
 */

/** What the answer must be. */
export type Expectation =
  /** A POST with bad content: 400 and a JSON body whose `fields` names one of `fields` (any field when empty). */
  | { kind: 'invalid-order'; fields: string[] }
  /** A valid order: 201 and the order back (its id is `id` when the request set one). */
  | { kind: 'valid-order'; id?: string }
  /** Anything else: one of `statuses`; with `fields`, a JSON body whose `fields` names one of them. */
  | { kind: 'answer'; statuses: number[]; fields?: string[] };

export interface FuzzCase {
  index: number;
  /** The family of the case, for the tally and for failure reports. */
  name: string;
  request: RequestSpec;
  expect: Expectation;
  /** Only well-formed HTTP may go through the keep-alive client; everything else needs a raw socket. */
  rawOnly: boolean;
}

export interface FuzzContext {
  /** Put in valid order ids, so the ids of one run never clash with another's. */
  runTag: string;
  maxBodyBytes: number;
  maxTimeoutMs: number;
  /** Ids of the valid orders generated so far (filled in as cases are made, in order). */
  knownIds: string[];
}

type Made = Omit<FuzzCase, 'index'>;

/** A JSON value, or literal JSON text for what JSON.stringify cannot write (1e400, -0, bad escapes...). */
type JsonPiece = { json: string } | { value: unknown };
const literal = (json: string): JsonPiece => ({ json });
const value = (item: unknown): JsonPiece => ({ value: item });

function objectText(entries: Array<[string, JsonPiece]>): string {
  return `{${entries.map(([key, piece]) => `${JSON.stringify(key)}:${'json' in piece ? piece.json : JSON.stringify(piece.value)}`).join(',')}}`;
}

const requiredFields = ['customerId', 'product', 'quantity', 'price'] as const;
type OrderField = (typeof requiredFields)[number] | 'id' | 'state';

/** Values of the wrong type, or out of range, for each field: every one makes the order invalid. */
const badValues: Record<OrderField, JsonPiece[]> = {
  customerId: [
    value('7'), value(''), value(null), value(true), value(false), value([]), value([7]), value({}), value({ $numberLong: '7' }), value(1.5), value(-1), value(-0.0001),
    value(2 ** 53), literal('1e400'), literal('-1e400'), literal('9007199254740993'), literal('123456789012345678901234567890'), value('1e3'), value(' 7'), value('0x10'),
  ],
  product: [
    value('jumpers'), value(''), value(' JUMPERS'), value('JUMPERS '), value('HATS'), value('JUMPERS\u0000'), value('ＪＵＭＰＥＲＳ'), value('JUM\u200bPERS'), value('JUMPERS\u0301'),
    value(null), value(1), value(['JUMPERS']), value({ name: 'JUMPERS' }), value(true), literal('"\\ud800"'), value('Jumpers'), value('UNDERPANTS\n'), value('\u{1F456}'),
    value('JUMPERS'.repeat(1_000)), value('\u202eSREPMUJ'), literal('"\\u004aUMPERS\\u0000"'),
  ],
  quantity: [
    value('1'), value(null), value(1.5), value(2_147_483_648), value(-2_147_483_649), literal('1e400'), value(true), value([1]), value({}), value(''), value(1e20), literal('-1e400'),
    literal('1.0000000000000002'), value('one'),
  ],
  price: [value('10'), value(null), value(true), value([10]), value({}), value(''), literal('1e999'), literal('-1e999'), value('NaN'), value('Infinity'), value({ amount: 10 })],
  id: [
    value(''), value(' '), value('a b'), value('a/b'), value('../../etc/passwd'), value('é'), value('\u{1F600}'), value(12), value(null), value([]), value({}), value(true), value('a\u0000b'),
    value('a\nb'), value('\u202eabc'), value('<script>'), value('x'.repeat(129)), value('id;DROP TABLE'), value('a%2Fb'),
  ],
  state: [value('VALIDATED'), value('FAILED'), value('SHIPPED'), value('created'), value(''), value(null), value(0), value(['CREATED']), value('CREATED ')],
};

/** Names of unknown fields (every unknown field is refused, whatever its name). */
const extraFieldNames = ['foo', 'ID', 'customerid', 'Product', 'constructor', 'toString', 'hasOwnProperty', 'prototype', '__proto__', 'customerId ', '\u0000', '\u{1F600}', 'a'.repeat(300), 'state2', 'order'];

/** Bodies that are not JSON at all (each answered with the field `body`). */
const notJson = [
  "{'customerId': 1}",
  '{"customerId":1,}',
  '{customerId:1}',
  '{"customerId":NaN}',
  '{"customerId":Infinity}',
  '{"price":-Infinity}',
  '{"quantity":undefined}',
  '/* comment */ {"customerId":1}',
  '{"customerId":1}{"customerId":2}',
  '{"product":"JUMP\u0001ERS"}',
  '{"product":"\\x41"}',
  '{"product":"\\u12"}',
  '{"a":1',
  '[1,2',
  '"unterminated',
  'nul',
  'tru',
  '{"customerId":01}',
  '{"customerId":+1}',
  '{"customerId":.5}',
  '{"customerId":1.}',
  '{"customerId":0x10}',
  '{"a" 1}',
  '{,}',
  '}',
  '\u0000',
  '{"customerId":1}\u0000',
];

/** Well-formed JSON that is not an object. */
const notAnObject = ['null', '[]', '"an order"', '123', 'true', '-0', '[{"customerId":1,"product":"JUMPERS","quantity":1,"price":1}]', '1e400'];

/** Content types a JSON body may come with (parameters, case). */
const jsonContentTypes = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=ISO-8859-1', 'application/json ; foo=bar', 'APPLICATION/JSON; CHARSET=UTF-16'];
/** Content types that are not JSON: a valid order sent with one of them is refused. */
const otherContentTypes = [
  'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'json', 'application/jsonx', '*/*', 'application/ld+json',
  'text/json', 'application', 'application/', 'application/ json', 'APPLICATION/JSONP', 'text/html; charset=utf-8', 'application/octet-stream', 'image/png', '\u00ffjson',
];

/** Query strings on GET /v1/orders/:id and whether the service must take them (README: an integer 0..MAX_TIMEOUT_MS). */
function timeoutQueries(maxTimeoutMs: number): Array<{ query: string; valid: boolean; waitsMs: number }> {
  return [
    { query: 'timeout=-1', valid: false, waitsMs: 0 },
    { query: 'timeout=1e309', valid: false, waitsMs: 0 },
    { query: 'timeout=abc', valid: false, waitsMs: 0 },
    { query: 'timeout=', valid: false, waitsMs: 0 },
    { query: 'timeout=1&timeout=2', valid: false, waitsMs: 0 },
    { query: 'timeout=5&timeout', valid: false, waitsMs: 0 },
    { query: 'timeout=0x10', valid: false, waitsMs: 0 },
    { query: 'timeout=1.5', valid: false, waitsMs: 0 },
    { query: 'timeout=%2D1', valid: false, waitsMs: 0 },
    { query: 'timeout=99999999999999999999', valid: false, waitsMs: 0 },
    { query: `timeout=${maxTimeoutMs + 1}`, valid: false, waitsMs: 0 },
    { query: 'timeout=%205', valid: false, waitsMs: 0 },
    { query: 'timeout=Infinity', valid: false, waitsMs: 0 },
    { query: 'timeout=NaN', valid: false, waitsMs: 0 },
    { query: 'timeout=%', valid: false, waitsMs: 0 },
    { query: 'timeout=%00', valid: false, waitsMs: 0 },
    { query: 'timeout=%E2%80%8B5', valid: false, waitsMs: 0 },
    { query: 'timeout=%D9%A5', valid: false, waitsMs: 0 },
    { query: 'timeout=1;timeout=2', valid: false, waitsMs: 0 },
    { query: 'timeout=0', valid: true, waitsMs: 0 },
    { query: 'timeout=000', valid: true, waitsMs: 0 },
    { query: 'timeout=5000&foo=bar', valid: true, waitsMs: 5_000 },
    { query: `timeout=${maxTimeoutMs}`, valid: true, waitsMs: maxTimeoutMs },
    // Not the timeout parameter: the default timeout applies.
    { query: 'timeout[]=1', valid: true, waitsMs: 10_000 },
    { query: 'TIMEOUT=abc', valid: true, waitsMs: 10_000 },
    { query: '&&&=&', valid: true, waitsMs: 10_000 },
    { query: `x=${'a'.repeat(4_000)}`, valid: true, waitsMs: 10_000 },
    { query: '__proto__=1&constructor=2', valid: true, waitsMs: 10_000 },
  ];
}

/** Request lines and headers a conforming HTTP/1.1 parser must refuse (or answer 431 for size). */
const brokenHttp: Array<{ name: string; head: string; statuses: number[] }> = [
  { name: 'control character in a header value', head: 'GET /health HTTP/1.1\r\nHost: x\r\nX-Fuzz: a\u0001b\r\n', statuses: [400] },
  { name: 'NUL in a header value', head: 'GET /health HTTP/1.1\r\nHost: x\r\nX-Fuzz: a\u0000b\r\n', statuses: [400] },
  { name: 'header line without a colon', head: 'GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n', statuses: [400] },
  { name: 'space before the colon', head: 'GET /health HTTP/1.1\r\nHost: x\r\nX-Fuzz : 1\r\n', statuses: [400] },
  { name: 'obsolete line folding', head: 'GET /health HTTP/1.1\r\nHost: x\r\nX-Fuzz: a\r\n  folded\r\n', statuses: [200, 400] },
  { name: 'header name with a space', head: 'GET /health HTTP/1.1\r\nHost: x\r\nX Fuzz: 1\r\n', statuses: [400] },
  { name: 'empty header name', head: 'GET /health HTTP/1.1\r\nHost: x\r\n: value\r\n', statuses: [400] },
  { name: 'no Host header', head: 'GET /health HTTP/1.1\r\n', statuses: [400] },
  { name: 'two Host headers', head: 'GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\n', statuses: [200, 400] },
  { name: 'lowercase method', head: 'get /health HTTP/1.1\r\nHost: x\r\n', statuses: [400] },
  { name: 'unknown method', head: 'FOO /health HTTP/1.1\r\nHost: x\r\n', statuses: [400, 405, 501] },
  { name: 'CONNECT', head: 'CONNECT 127.0.0.1:9092 HTTP/1.1\r\nHost: 127.0.0.1:9092\r\n', statuses: [400, 403, 405, 501] },
  { name: 'CONNECT to a path', head: 'CONNECT /v1/orders HTTP/1.1\r\nHost: x\r\n', statuses: [400, 403, 405, 501] },
  { name: 'method with a space', head: 'G ET /health HTTP/1.1\r\nHost: x\r\n', statuses: [400] },
  { name: 'version HTTP/1.2', head: 'GET /health HTTP/1.2\r\nHost: x\r\n', statuses: [200, 400, 505] },
  { name: 'version HTTP/2.0', head: 'GET /health HTTP/2.0\r\nHost: x\r\n', statuses: [200, 400, 505] },
  { name: 'version HTTP/9.9', head: 'GET /health HTTP/9.9\r\nHost: x\r\n', statuses: [200, 400, 505] },
  { name: 'version http/1.1', head: 'GET /health http/1.1\r\nHost: x\r\n', statuses: [400] },
  { name: 'version garbage', head: 'GET /health HTTP/1.1x\r\nHost: x\r\n', statuses: [400] },
  { name: 'no version (HTTP/0.9)', head: 'GET /health\r\nHost: x\r\n', statuses: [200, 400, 505] },
  { name: 'raw space in the target', head: 'GET /v1/orders/a b?timeout=0 HTTP/1.1\r\nHost: x\r\n', statuses: [400] },
  { name: 'raw 8-bit bytes in the target', head: 'GET /v1/orders/\u00e9\u00ff?timeout=0 HTTP/1.1\r\nHost: x\r\n', statuses: [400, 504] },
  { name: 'absolute-form target', head: 'GET http://elsewhere.example/health HTTP/1.1\r\nHost: x\r\n', statuses: [200, 400, 404] },
  { name: 'asterisk target', head: 'OPTIONS * HTTP/1.1\r\nHost: x\r\n', statuses: [200, 204, 400, 404] },
  { name: 'non-numeric content-length', head: 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n', statuses: [400] },
  { name: 'negative content-length', head: 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n', statuses: [400] },
  { name: 'content-length list', head: 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2, 3\r\n', statuses: [400] },
  { name: 'overflowing content-length', head: 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999999\r\n', statuses: [400] },
  { name: 'two different content-lengths', head: 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n', statuses: [400] },
  { name: 'content-length and chunked', head: 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n', statuses: [400] },
  { name: 'transfer-encoding gzip alone', head: 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n', statuses: [400, 501] },
  { name: 'transfer-encoding garbage', head: 'POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: \u00ff\u00fe\r\n', statuses: [400, 501] },
];

/** A header block over the server's limit (Node: 16 KiB) is refused with 431 (or 400). */
function oversizedHead(prng: Prng): string {
  const lines = prng.chance(0.5) ? [`X-Big: ${'b'.repeat(prng.int(17_000, 40_000))}`] : Array.from({ length: prng.int(400, 900) }, (_, index) => `X-Many-${index}: ${'m'.repeat(40)}`);
  return `GET /health HTTP/1.1\r\nHost: x\r\n${lines.join('\r\n')}\r\n`;
}

const asciiLetters = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:'];
const wildCharacters = [...'a\u0000\u0001\u001f "\\/\u007f\u00e9\u00ff\u0100\u200b\u202e\u2028\ufeff\uffff', '\u{1F600}', '\ud800', '\udfff', ...'{}[],:'];

export function validOrder(prng: Prng): { customerId: number; product: string; quantity: number; price: number } {
  return { customerId: prng.int(1_000, 1_000_000_000), product: prng.pick(productSymbols), quantity: prng.int(1, 3), price: prng.int(1, 50) };
}

function post(body: Buffer | string, contentType: string | undefined, extraHeaders: Array<[string, string]> = []): RequestSpec {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Array<[string, string]> = [['Host', '127.0.0.1']];
  if (contentType !== undefined) headers.push(['Content-Type', contentType]);
  headers.push(['Content-Length', String(bytes.length)], ...extraHeaders);
  return { method: 'POST', target: '/v1/orders', headers, body: bytes };
}

function get(target: string, method = 'GET'): RequestSpec {
  return { method, target, headers: [['Host', '127.0.0.1']] };
}

/** Pads a JSON object text with whitespace after its opening brace up to exactly `size` bytes. */
function padTo(text: string, size: number): string {
  const missing = size - Buffer.byteLength(text);
  return missing <= 0 ? text : `{${' '.repeat(missing)}${text.slice(1)}`;
}

const chunked = (body: Buffer, pieces: number[]): Buffer => {
  const parts: Buffer[] = [];
  let offset = 0;
  for (const size of [...pieces, body.length]) {
    const piece = body.subarray(offset, Math.min(body.length, offset + size));
    if (piece.length === 0) continue;
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    offset += piece.length;
    if (offset >= body.length) break;
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
};

/**
 * A well-formed POST whose content is wrong: one or more fields broken, fields missing or
 * unknown, not JSON, not an object, nested deep, oversized, or the wrong content type.
 */
function invalidOrder(prng: Prng, context: FuzzContext): Made {
  const contentType = prng.pick(jsonContentTypes);
  const base = validOrder(prng);
  const entries = (): Array<[string, JsonPiece]> => Object.entries(base).map(([key, item]) => [key, value(item)]);
  const family = prng.weighted<string>([
    [24, 'wrong type or range'],
    [10, 'several broken fields'],
    [10, 'missing field'],
    [10, 'unknown field'],
    [8, 'not JSON'],
    [6, 'truncated JSON'],
    [5, 'not an object'],
    [5, 'empty body'],
    [5, 'deep nesting'],
    [5, 'random bytes as the body'],
    [4, 'random text in a field'],
    [4, 'duplicate key'],
    [8, 'wrong content type'],
    [6, 'body over the limit'],
    [4, 'unknown field near the limit'],
    [4, 'chunked body'],
  ]);
  switch (family) {
    case 'wrong type or range': {
      const field = prng.pick<OrderField>([...requiredFields, 'id', 'state']);
      const fields = entries().filter(([key]) => key !== field);
      fields.splice(prng.int(0, fields.length), 0, [field, prng.pick(badValues[field])]);
      return { name: `${family}: ${field}`, request: post(objectText(fields), contentType), expect: { kind: 'invalid-order', fields: [field] }, rawOnly: false };
    }
    case 'several broken fields': {
      const broken = [...requiredFields, 'id', 'state'].filter(() => prng.chance(0.5)) as OrderField[];
      if (broken.length === 0) broken.push('quantity');
      const fields = entries().filter(([key]) => !broken.includes(key as OrderField));
      for (const field of broken) fields.push([field, prng.pick(badValues[field])]);
      return { name: family, request: post(objectText(fields), contentType), expect: { kind: 'invalid-order', fields: broken }, rawOnly: false };
    }
    case 'missing field': {
      const missing = requiredFields.filter(() => prng.chance(0.4));
      if (missing.length === 0) missing.push(prng.pick(requiredFields));
      const fields = entries().filter(([key]) => !(missing as string[]).includes(key));
      return { name: `${family}: ${missing.join('+')}`, request: post(objectText(fields), contentType), expect: { kind: 'invalid-order', fields: missing }, rawOnly: false };
    }
    case 'unknown field': {
      const name = prng.pick(extraFieldNames);
      const fields = entries();
      fields.splice(prng.int(0, fields.length), 0, [name, value(prng.pick<unknown>([1, 'x', null, [], {}, true, { nested: { deeper: [1, 2, 3] } }]))]);
      return { name: `${family}: ${JSON.stringify(name.slice(0, 20))}`, request: post(objectText(fields), contentType), expect: { kind: 'invalid-order', fields: [name] }, rawOnly: false };
    }
    case 'not JSON':
      return { name: family, request: post(prng.pick(notJson), contentType), expect: { kind: 'invalid-order', fields: ['body'] }, rawOnly: false };
    case 'truncated JSON': {
      const text = JSON.stringify({ id: `cut-${prng.int(0, 1e9)}`, ...base });
      return { name: family, request: post(text.slice(0, prng.int(1, text.length - 1)), contentType), expect: { kind: 'invalid-order', fields: ['body'] }, rawOnly: false };
    }
    case 'not an object':
      return { name: family, request: post(prng.pick(notAnObject), contentType), expect: { kind: 'invalid-order', fields: ['body'] }, rawOnly: false };
    case 'empty body':
      return { name: family, request: post(prng.pick(['', ' ', '\r\n', '\t \n ']), contentType), expect: { kind: 'invalid-order', fields: ['body'] }, rawOnly: false };
    case 'deep nesting': {
      const [open, close] = prng.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
      // Deep, but inside the body limit: the nesting itself is what is tested.
      const depth = prng.int(100, Math.floor((context.maxBodyBytes - 200) / (open.length + close.length)));
      const nested = `${open.repeat(depth)}1${close.repeat(depth)}`;
      if (prng.chance(0.3)) return { name: `${family}: top level`, request: post(nested, contentType), expect: { kind: 'invalid-order', fields: ['body', 'a', 'customerId'] }, rawOnly: false };
      const field = prng.pick<string>([...requiredFields, 'nested']);
      const fields = entries().filter(([key]) => key !== field);
      fields.push([field, literal(nested)]);
      return { name: `${family}: ${field}`, request: post(objectText(fields), contentType), expect: { kind: 'invalid-order', fields: [field] }, rawOnly: false };
    }
    case 'random bytes as the body':
      // Random bytes are almost never JSON; if they happen to be an object, it lacks the fields.
      return { name: family, request: post(prng.bytes(prng.int(1, 2_000)), contentType), expect: { kind: 'invalid-order', fields: [] }, rawOnly: false };
    case 'random text in a field': {
      const field = prng.pick<OrderField>([...requiredFields, 'id', 'state']);
      const text = prng.text(prng.int(0, 60), wildCharacters);
      // Random text is never a number and almost never a product or state; a plain id is valid, so ids get a forbidden character.
      const chosen = field === 'id' ? `${text}\u00e9` : field === 'product' || field === 'state' ? `${text}?` : text;
      const fields = entries().filter(([key]) => key !== field);
      fields.push([field, value(chosen)]);
      return { name: `${family}: ${field}`, request: post(objectText(fields), contentType), expect: { kind: 'invalid-order', fields: [field] }, rawOnly: false };
    }
    case 'duplicate key': {
      const field = prng.pick(requiredFields);
      const fields = entries();
      fields.push([field, prng.pick(badValues[field])]);
      return { name: family, request: post(objectText(fields), contentType), expect: { kind: 'invalid-order', fields: [field] }, rawOnly: false };
    }
    case 'wrong content type': {
      const type = prng.weighted<string | undefined>([
        [8, prng.pick(otherContentTypes)],
        [2, undefined],
      ]);
      // A valid order: only the content type is wrong.
      return { name: `${family}: ${type ?? 'none'}`, request: post(JSON.stringify(base), type), expect: { kind: 'invalid-order', fields: ['body'] }, rawOnly: type !== undefined && /[^\x20-\x7e]/.test(type) };
    }
    case 'body over the limit': {
      const size = prng.pick([context.maxBodyBytes + 1, context.maxBodyBytes + 2, context.maxBodyBytes + 100, 20_000, 65_536, 200_000]);
      return { name: family, request: post(padTo(JSON.stringify(base), size), contentType), expect: { kind: 'invalid-order', fields: ['body'] }, rawOnly: false };
    }
    case 'unknown field near the limit': {
      const size = prng.int(context.maxBodyBytes - 200, context.maxBodyBytes);
      const text = objectText([...entries(), ['pad', value('')]]);
      const padded = `${text.slice(0, -2)}${'p'.repeat(Math.max(0, size - Buffer.byteLength(text)))}"}`;
      return { name: family, request: post(padded, contentType), expect: { kind: 'invalid-order', fields: ['pad'] }, rawOnly: false };
    }
    case 'chunked body': {
      const over = prng.chance(0.4);
      const text = over ? padTo(JSON.stringify(base), context.maxBodyBytes + prng.int(1, 5_000)) : objectText([...entries(), ['quantity', value('x')]]);
      const body = chunked(Buffer.from(text), Array.from({ length: prng.int(1, 6) }, () => prng.int(1, 4_000)));
      const request: RequestSpec = { method: 'POST', target: '/v1/orders', headers: [['Host', '127.0.0.1'], ['Content-Type', contentType], ['Transfer-Encoding', 'chunked']], body };
      return { name: `${family}${over ? ' over the limit' : ''}`, request, expect: { kind: 'invalid-order', fields: [over ? 'body' : 'quantity'] }, rawOnly: true };
    }
  }
  throw new Error(`no case family ${family}`);
}

/** A valid order, in one of the ways a client may legitimately send it. */
function validOrderCase(prng: Prng, context: FuzzContext, index: number): Made {
  const base = validOrder(prng);
  const withId = prng.chance(0.85);
  const id = `fuzz-${context.runTag}-${index}`;
  // Business rules are the validators' job: a negative quantity or a zero price is accepted here and FAILs later.
  const variant = prng.weighted<string>([
    [10, 'plain'],
    [2, 'business-invalid'],
    [2, 'explicit CREATED state'],
    [2, 'content type with parameters'],
    [2, 'exactly at the body limit'],
    [1, 'expect 100-continue'],
    [1, 'chunked'],
    [1, 'shuffled keys and whitespace'],
  ]);
  const order: Record<string, unknown> = { ...(withId ? { id } : {}), ...base };
  if (variant === 'business-invalid') Object.assign(order, prng.pick([{ quantity: -1 }, { price: 0 }, { price: -5.5 }, { quantity: 0 }, { customerId: 0 }]));
  if (variant === 'explicit CREATED state') order.state = 'CREATED';
  let text = JSON.stringify(order);
  if (variant === 'shuffled keys and whitespace') {
    const keys = Object.keys(order);
    for (let position = keys.length - 1; position > 0; position -= 1) {
      const other = prng.int(0, position);
      [keys[position], keys[other]] = [keys[other]!, keys[position]!];
    }
    text = `\n{ ${keys.map((key) => `${JSON.stringify(key)} :\t${JSON.stringify(order[key])}`).join(' ,\r\n ')} }\n`;
  }
  if (variant === 'exactly at the body limit') text = padTo(text, context.maxBodyBytes);
  const contentType = variant === 'content type with parameters' ? prng.pick(jsonContentTypes.slice(1)) : 'application/json';
  const expect: Expectation = { kind: 'valid-order', ...(withId ? { id } : {}) };
  if (variant === 'expect 100-continue') return { name: `valid order: ${variant}`, request: post(text, contentType, [['Expect', '100-continue']]), expect, rawOnly: true };
  if (variant === 'chunked') {
    const request: RequestSpec = { method: 'POST', target: '/v1/orders', headers: [['Host', '127.0.0.1'], ['Content-Type', contentType], ['Transfer-Encoding', 'chunked']], body: chunked(Buffer.from(text), [prng.int(1, 20), prng.int(1, 20)]) };
    return { name: `valid order: ${variant}`, request, expect, rawOnly: true };
  }
  return { name: `valid order: ${variant}`, request: post(text, contentType), expect, rawOnly: false };
}

/** Every other request: odd methods, paths, query strings, headers and bytes that are not HTTP. */
function otherRequest(prng: Prng, context: FuzzContext): Made {
  // The id of an earlier valid order (its request went out before this one).
  const earlierValid = (): string | undefined => (context.knownIds.length > 0 ? prng.pick(context.knownIds) : undefined);
  const unknownId = () => `missing-${prng.int(0, 1e9)}`;
  const family = prng.weighted<string>([
    [14, 'odd timeout on a known order'],
    [8, 'odd timeout on an unknown order'],
    [6, 'known order'],
    [6, 'odd path'],
    [5, 'giant id'],
    [6, 'other method'],
    [4, 'probe'],
    [4, 'odd header values'],
    [8, 'broken HTTP'],
    [3, 'header block too large'],
    [6, 'random bytes'],
    [3, 'body cut short'],
    [2, 'unknown expectation'],
  ]);
  switch (family) {
    case 'odd timeout on a known order': {
      const id = earlierValid();
      if (!id) return { name: 'probe', request: get('/health'), expect: { kind: 'answer', statuses: [200] }, rawOnly: false };
      const suffix = prng.chance(0.2) ? '/validated' : '';
      // Waiting for the final state takes the pipeline's time: keep those waits short.
      const { query, valid, waitsMs } = prng.pick(timeoutQueries(context.maxTimeoutMs).filter((query) => suffix === '' || query.waitsMs <= 5_000));
      // The order was accepted before: it appears at once unless the wait is 0 (or it is not final yet for /validated).
      const statuses = !valid ? [400] : waitsMs >= 5_000 && suffix === '' ? [200] : [200, 504];
      return { name: `${family}${valid ? '' : ' (invalid)'}`, request: get(`/v1/orders/${id}${suffix}?${query}`), expect: { kind: 'answer', statuses, ...(valid ? {} : { fields: ['timeout'] }) }, rawOnly: false };
    }
    case 'odd timeout on an unknown order': {
      // Only invalid timeouts or a zero wait: an unknown order with a real timeout would hold the request.
      const choices = timeoutQueries(context.maxTimeoutMs).filter((query) => !query.valid || query.waitsMs === 0);
      const { query, valid } = prng.pick(choices);
      const expect: Expectation = valid ? { kind: 'answer', statuses: [504] } : { kind: 'answer', statuses: [400], fields: ['timeout'] };
      return { name: `${family}${valid ? '' : ' (invalid)'}`, request: get(`/v1/orders/${unknownId()}?${query}`), expect, rawOnly: false };
    }
    case 'known order': {
      const id = earlierValid() ?? unknownId();
      const method = prng.pick(['GET', 'HEAD']);
      return { name: `${family}: ${method}`, request: get(`/v1/orders/${encodeURIComponent(id)}?timeout=${prng.pick([0, 3_000])}`, method), expect: { kind: 'answer', statuses: [200, 504] }, rawOnly: false };
    }
    case 'odd path': {
      const target = prng.pick([
        '/', '/v1', '/v1/', '/v1/orders/', '/v1/orders//validated?timeout=0', '/V1/ORDERS', '/v1/orders/../health', '/v1/orders/%00?timeout=0', '/v1/orders/%?timeout=0', '/v1/orders/%ZZ?timeout=0',
        '//v1/orders', '/v1/orders/a/b/c', '/v1/orders/x/validated/extra', '/health/', '/ready?x=1', '/v1/orders/%E0%A4%A?timeout=0', '/v1/orders/..%2F..%2Fetc?timeout=0',
        '/v1/orders?customerId=1', '/favicon.ico', '/v1/orders/%F0%9F%98%80?timeout=0', '/v1/orders/' + '%2F'.repeat(50) + '?timeout=0', '/.env', '/v1/orders;x=1',
      ]);
      return { name: family, request: get(target, prng.pick(['GET', 'GET', 'HEAD'])), expect: { kind: 'answer', statuses: [200, 400, 404, 405, 504] }, rawOnly: false };
    }
    case 'giant id': {
      const length = prng.pick([129, 1_000, 8_000, 15_000, 20_000, 40_000]);
      const target = `/v1/orders/${prng.text(length, asciiLetters)}?timeout=0`;
      // Past the server's 16 KiB header limit the request line alone is too large.
      return { name: family, request: get(target), expect: { kind: 'answer', statuses: length > 16_000 ? [431, 400] : [504, 431] }, rawOnly: false };
    }
    case 'other method': {
      const method = prng.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'GET', 'HEAD', 'PROPFIND', 'PURGE', 'LINK', 'MKCOL', 'SEARCH']);
      const request = post(JSON.stringify(validOrder(prng)), 'application/json');
      request.method = method;
      const known = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'GET', 'HEAD', 'TRACE'].includes(method);
      return { name: `${family}: ${method}`, request, expect: { kind: 'answer', statuses: method === 'OPTIONS' ? [200, 204] : [400, 405, 501] }, rawOnly: !known || method === 'TRACE' };
    }
    case 'probe':
      return { name: family, request: get(prng.pick(['/health', '/ready'])), expect: { kind: 'answer', statuses: [200] }, rawOnly: false };
    case 'odd header values': {
      const headers: Array<[string, string]> = [['Host', prng.pick(['127.0.0.1', '', 'a'.repeat(2_000), '[::1]:99999', 'évil'])]];
      for (let count = prng.int(1, 6); count > 0; count -= 1) {
        headers.push([prng.pick(['Accept', 'Accept-Encoding', 'User-Agent', 'X-Forwarded-By', 'Cookie', 'Authorization', 'X-Fuzz', 'Range', 'If-None-Match', 'Origin']), prng.text(prng.int(0, 200), [...'abc ;=,*/\t"\'\u00e9\u00ff\u0080', '\u00a0'])]);
      }
      // x-forwarded-by marks a request forwarded by another instance: the owner still answers it.
      return { name: family, request: { method: 'GET', target: prng.pick(['/health', '/v1/orders/x?timeout=0', '/ready']), headers }, expect: { kind: 'answer', statuses: [200, 400, 504] }, rawOnly: true };
    }
    case 'broken HTTP': {
      const broken = prng.pick(brokenHttp);
      return { name: `${family}: ${broken.name}`, request: { method: '', target: '', headers: [], raw: Buffer.from(`${broken.head}Connection: close\r\n\r\n`, 'latin1') }, expect: { kind: 'answer', statuses: broken.statuses }, rawOnly: true };
    }
    case 'header block too large':
      return { name: family, request: { method: '', target: '', headers: [], raw: Buffer.from(`${oversizedHead(prng)}Connection: close\r\n\r\n`, 'latin1') }, expect: { kind: 'answer', statuses: [431, 400] }, rawOnly: true };
    case 'random bytes': {
      // The first byte can start no request (not a token character, not a line break), so the server can decide at once.
      const bytes = prng.bytes(prng.int(1, 3_000));
      bytes[0] = prng.chance(0.5) ? prng.int(0x80, 0xff) : prng.int(0x00, 0x08);
      return { name: family, request: { method: '', target: '', headers: [], raw: bytes }, expect: { kind: 'answer', statuses: [400] }, rawOnly: true };
    }
    case 'body cut short': {
      // The declared length is never reached and the client stops sending: the request can never complete.
      const body = JSON.stringify(validOrder(prng));
      const head = `POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length + prng.int(1, 100)}\r\nConnection: close\r\n\r\n`;
      return { name: family, request: { method: 'POST', target: '/v1/orders', headers: [], raw: Buffer.from(head + body), halfClose: true }, expect: { kind: 'answer', statuses: [400] }, rawOnly: true };
    }
    case 'unknown expectation': {
      const request = post(JSON.stringify(validOrder(prng)), 'application/json', [['Expect', prng.pick(['200-ok', 'something', '100-continues', 'continue'])]]);
      return { name: family, request, expect: { kind: 'answer', statuses: [417] }, rawOnly: true };
    }
  }
  throw new Error(`no case family ${family}`);
}

/** The request number `index` of a run: every 50th is a valid order, the others mostly malformed POSTs. */
export function fuzzCase(prng: Prng, context: FuzzContext, index: number): FuzzCase {
  if (index % 50 === 49) {
    const made = validOrderCase(prng, context, index);
    if (made.expect.kind === 'valid-order' && made.expect.id) context.knownIds.push(made.expect.id);
    return { index, ...made };
  }
  return { index, ...(prng.chance(0.6) ? invalidOrder(prng, context) : otherRequest(prng, context)) };
}
