import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { createHttpServer, createLogger, type ApiDescription, type HttpMethod, type JsonSchema, type OpenApiDocument, type OpenApiOperation, type Router } from '@ecosystem/platform';

/**
 * Checks of the services' OpenAPI documents: the document itself (OpenAPI 3.1, with schemas that
 * JSON Schema 2020-12 compiles), and real answers against it, with ajv's 2020-12 validator.
 */

const methods: readonly HttpMethod[] = ['get', 'post', 'put', 'patch', 'delete'];

/** What is wrong with the document: against the OpenAPI 3.1 specification's schema, and each of its schemas compiled strictly. [] when nothing. */
export async function openApiProblems(document: OpenApiDocument): Promise<string[]> {
  const problems: string[] = [];
  const validator = new Validator();
  // The validator keeps the object it is given: give it a copy.
  const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);
  if (!result.valid) problems.push(`not valid OpenAPI ${validator.version || document.openapi}: ${JSON.stringify(result.errors).slice(0, 2_000)}`);
  if (!document.openapi.startsWith('3.1.')) problems.push(`OpenAPI ${document.openapi}, not 3.1`);
  let ajv: Ajv2020;
  try {
    ajv = schemaCompiler(document);
  } catch (error) {
    return [...problems, `components/schemas: ${error instanceof Error ? error.message : String(error)}`];
  }
  for (const { where, schema } of schemasOf(document)) {
    try {
      ajv.compile(withLocalRefs(schema));
    } catch (error) {
      problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/** Every operation of the document, as `GET /v1/orders/{id}`. */
export function operationsOf(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) => methods.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`));
}

/** Where the document's components live for ajv: one schema whose `$defs` they are. */
const componentsId = 'urn:openapi:components';

/** Ajv for 2020-12, strict, with the document's components reachable by their references. */
function schemaCompiler(document: OpenApiDocument): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  ajv.addSchema({ $id: componentsId, $defs: Object.fromEntries(Object.entries(document.components.schemas).map(([name, schema]) => [name, withLocalRefs(schema)])) });
  return ajv;
}

/** A validator of one of the document's schemas: a component by its name, or a schema of the document (its references resolved). */
export function schemaValidator(document: OpenApiDocument, schema: string | JsonSchema): ValidateFunction {
  return schemaCompiler(document).compile(typeof schema === 'string' ? { $ref: `${componentsId}#/$defs/${schema}` } : withLocalRefs(schema));
}

/** `#/components/schemas/X` points into the document: made to point into the components' schema, so a schema compiled alone finds it. */
function withLocalRefs(schema: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/components/schemas/', `"$ref":"${componentsId}#/$defs/`)) as JsonSchema;
}

function schemasOf(document: OpenApiDocument): Array<{ where: string; schema: JsonSchema }> {
  const found: Array<{ where: string; schema: JsonSchema }> = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of methods) {
      const operation = item[method];
      if (!operation) continue;
      const where = `${method.toUpperCase()} ${path}`;
      for (const parameter of operation.parameters ?? []) found.push({ where: `${where} parameter ${parameter.name}`, schema: parameter.schema });
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) found.push({ where: `${where} request ${type}`, schema: media.schema });
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) if (media.schema) found.push({ where: `${where} ${status} ${type}`, schema: media.schema });
        for (const [name, header] of Object.entries(response.headers ?? {})) found.push({ where: `${where} ${status} header ${name}`, schema: header.schema });
      }
    }
  }
  return found;
}

export interface RequestLine {
  method: string;
  /** Path and query, as sent: `/v1/orders/x?timeout=0`. */
  target: string;
}

export interface Answer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A document's operation for a request, with the path it matched. */
interface Matched {
  path: string;
  operation: OpenApiOperation;
}

/**
 * Validates real answers against a service's document: the status must be one the operation
 * documents (or its `4XX`/`default`), a documented required header must be there, and the body
 * must have the documented media type and, for JSON, validate against the schema.
 */
export class ResponseValidator {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: Array<{ path: string; pattern: RegExp; literals: number }>;

  constructor(readonly document: OpenApiDocument) {
    this.ajv = schemaCompiler(document);
    this.templates = Object.keys(document.paths)
      .map((path) => ({
        path,
        pattern: new RegExp(`^${path.split('/').map((segment) => (/^\{\w+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`),
        literals: path.split('/').filter((segment) => !segment.startsWith('{')).length,
      }))
      // The most specific first: /fraud/instance before a /fraud/{x}.
      .sort((left, right) => right.literals - left.literals);
  }

  static async fetch(baseUrl: string): Promise<ResponseValidator> {
    const response = await fetch(new URL('/openapi.json', baseUrl));
    if (!response.ok) throw new Error(`GET ${baseUrl}/openapi.json answered ${response.status}`);
    return new ResponseValidator((await response.json()) as OpenApiDocument);
  }

  /** The operation of the document a request is for; undefined when the API has none (an unknown path or method). */
  match({ method, target }: RequestLine): Matched | undefined {
    const lower = method.toLowerCase();
    // HEAD is answered like the GET of the same path, without the body.
    const documented = (lower === 'head' ? 'get' : lower) as HttpMethod;
    if (!methods.includes(documented)) return undefined;
    const path = target.split('?')[0]!;
    for (const template of this.templates) {
      if (!template.pattern.test(path)) continue;
      const operation = this.document.paths[template.path]?.[documented];
      if (operation) return { path: template.path, operation };
    }
    return undefined;
  }

  /** What is wrong with the answer ([] when nothing); undefined when the request is for no operation of the document. */
  problems(request: RequestLine, answer: Answer): string[] | undefined {
    const matched = this.match(request);
    if (!matched) return undefined;
    const { operation } = matched;
    const responses = operation.responses;
    const key = [String(answer.status), `${String(answer.status)[0]}XX`, 'default'].find((candidate) => responses[candidate]);
    if (!key) return [`status ${answer.status} is not documented for ${request.method} ${matched.path} (documented: ${Object.keys(responses).join(', ')})`];
    const response = responses[key]!;
    const problems: string[] = [];
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      if (header.required && answer.headers[name.toLowerCase()] === undefined) problems.push(`the ${answer.status} answer lacks its header ${name}`);
    }
    const head = request.method.toUpperCase() === 'HEAD';
    const content = response.content;
    if (!content) {
      if (answer.body.length > 0 && !head) problems.push(`the ${answer.status} answer has a body, but none is documented`);
      return problems;
    }
    const mediaType = String(answer.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const documentedType = Object.keys(content).find((type) => type === mediaType || type === '*/*' || (type.endsWith('/*') && mediaType.startsWith(type.slice(0, -1))));
    if (!documentedType) {
      problems.push(`the ${answer.status} answer is ${mediaType || 'without a content type'}, documented: ${Object.keys(content).join(', ')}`);
      return problems;
    }
    const schema = content[documentedType]!.schema;
    if (head || !schema || documentedType !== 'application/json') return problems;
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      problems.push(`the ${answer.status} answer is not JSON: ${answer.body.slice(0, 200)}`);
      return problems;
    }
    const validate = this.validator(`${request.method} ${matched.path} ${key}`, schema);
    if (!validate(body)) {
      problems.push(
        `the ${answer.status} answer does not match the documented schema: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}; body ${answer.body.slice(0, 300)}`,
      );
    }
    return problems;
  }

  /** Throws when the answer does not match the document (or the request is for no operation of it). */
  check(request: RequestLine, answer: Answer): void {
    const problems = this.problems(request, answer);
    if (problems === undefined) throw new Error(`${request.method} ${request.target} is for no operation of ${this.document.info.title}'s OpenAPI document`);
    if (problems.length > 0) throw new Error(`${request.method} ${request.target} -> ${answer.status}, against ${this.document.info.title}'s /openapi.json:\n  ${problems.join('\n  ')}`);
  }

  private validator(key: string, schema: JsonSchema): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(withLocalRefs(schema));
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

/** The answer of fetch as the validator reads it. */
export async function answerOf(response: Response): Promise<Answer & { text: string }> {
  const body = await response.text();
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  return { status: response.status, headers, body, text: body };
}

export type GetAnswer = (target: string, expectedStatus: number) => Promise<Answer & { text: string }>;

/**
 * Serves these routes for `use`, whose `get` fetches a target, fails unless it answers
 * `expectedStatus`, and checks the answer against the document the service serves.
 */
export async function withDescribedRoutes(router: Router, api: ApiDescription, use: (get: GetAnswer) => Promise<void>): Promise<void> {
  const server = createHttpServer({ logger: createLogger('openapi-test', 'silent'), router, isReady: () => true, api });
  const url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  try {
    const validator = await ResponseValidator.fetch(url);
    await use(async (target, expectedStatus) => {
      const answer = await answerOf(await fetch(`${url}${target}`));
      if (answer.status !== expectedStatus) throw new Error(`GET ${target} answered ${answer.status}, not ${expectedStatus}: ${answer.body}`);
      validator.check({ method: 'GET', target }, answer);
      return answer;
    });
  } finally {
    await server.close();
  }
}

/**
 * The document a service with these routes serves at GET /openapi.json (the helper refuses routes
 * and descriptions that differ); `protectReads` as the service gives it (its reads answer 401 too).
 */
export async function servedDocument(router: Router, api: ApiDescription, protectReads = false): Promise<OpenApiDocument> {
  const server = createHttpServer({ logger: createLogger('openapi-test', 'silent'), router, isReady: () => true, api, protectReads });
  const port = await server.listen(0, '127.0.0.1');
  try {
    const response = await fetch(`http://127.0.0.1:${port}/openapi.json`);
    if (response.status !== 200 || !response.headers.get('content-type')?.startsWith('application/json')) throw new Error(`GET /openapi.json answered ${response.status}`);
    return (await response.json()) as OpenApiDocument;
  } finally {
    await server.close();
  }
}
