import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An in-process stand-in for a Confluent Schema Registry, for `confluent-registry.contract.test.ts`
 * only. No Confluent registry can run here (the project's registry is Apicurio, which the integration
 * tests use for real), so this answers the four calls of a first registration exactly as Confluent's
 * REST API does for a subject without a compatibility level of its own, and records every request:
 *
 *   POST /subjects/{subject}           look-up: 200, or 404 with 40401 (no subject) / 40403 (no such schema)
 *   GET  /config/{subject}             200 {"compatibilityLevel"} if set, else 404 with 40408
 *   POST /subjects/{subject}/versions  200 {"id"}
 *   PUT  /config/{subject}             200, echoing {"compatibility"}
 *
 * Anything else answers 404 "no route" and shows up in `requests`, so a contract test sees it.
 */
export interface RecordedRequest {
  /** "METHOD /path", the path relative to the registry's root URL. */
  request: string;
  contentType: string | undefined;
  /** The parsed JSON body; undefined when there is none. */
  body: unknown;
}

export interface FakeConfluentRegistry {
  /** The root URL: a Confluent registry has no /apis/ccompat/v7 prefix. */
  url: string;
  requests: RecordedRequest[];
  /** A schema another producer registered under `subject`, setting no compatibility level. Not recorded. */
  preload(subject: string, schema: string): number;
  /** The subject's own compatibility level, as set through PUT /config/{subject}. */
  compatibility(subject: string): string | undefined;
  close(): Promise<void>;
}

/** Ids start well away from 1 so that a test can tell an id the registry assigned from a version. */
const firstId = 101;

export async function startFakeConfluentRegistry(): Promise<FakeConfluentRegistry> {
  const schemasById = new Map<number, string>();
  const subjects = new Map<string, number[]>();
  const configs = new Map<string, string>();
  const requests: RecordedRequest[] = [];

  function register(subject: string, schema: string): number {
    const existing = [...schemasById.entries()].find(([, text]) => text === schema)?.[0];
    const id = existing ?? firstId + schemasById.size;
    schemasById.set(id, schema);
    const versions = subjects.get(subject) ?? [];
    if (!versions.includes(id)) versions.push(id);
    subjects.set(subject, versions);
    return id;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = decodeURIComponent(request.url ?? '');
    const body = await readJson(request);
    requests.push({ request: `${request.method} ${path}`, contentType: request.headers['content-type'], body });
    const json = (body ?? {}) as Record<string, unknown>;
    const reply = (status: number, payload: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify(payload));
    };
    let match: RegExpMatchArray | null;

    if (request.method === 'POST' && (match = path.match(/^\/subjects\/([^/]+)\/versions$/))) {
      return reply(200, { id: register(match[1] ?? '', String(json['schema'])) });
    }
    if (request.method === 'POST' && (match = path.match(/^\/subjects\/([^/]+)$/))) {
      const subject = match[1] ?? '';
      const versions = subjects.get(subject);
      if (versions === undefined) return reply(404, { error_code: 40401, message: `Subject '${subject}' not found.` });
      const id = versions.find((candidate) => schemasById.get(candidate) === json['schema']);
      if (id === undefined) return reply(404, { error_code: 40403, message: 'Schema not found' });
      return reply(200, { subject, id, version: versions.indexOf(id) + 1, schema: schemasById.get(id) });
    }
    if ((match = path.match(/^\/config\/([^/]+)$/))) {
      const subject = match[1] ?? '';
      if (request.method === 'PUT') {
        configs.set(subject, String(json['compatibility']));
        return reply(200, { compatibility: json['compatibility'] });
      }
      const level = configs.get(subject);
      if (level !== undefined) return reply(200, { compatibilityLevel: level });
      return reply(404, { error_code: 40408, message: `Subject '${subject}' does not have subject-level compatibility configured` });
    }
    reply(404, { error_code: 404, message: `no route for ${request.method} ${path}` });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    preload: register,
    compatibility: (subject) => configs.get(subject),
    close: () => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}
