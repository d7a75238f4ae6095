import { z } from 'zod';

/**
 * OpenAPI 3.1 descriptions of the services' HTTP APIs, generated from the zod schemas the
 * handlers use (`z.toJSONSchema`, JSON Schema 2020-12, which is OpenAPI 3.1's dialect), so a
 * shape is written once. The HTTP server helper serves each service's document at
 * `GET /openapi.json` and checks, when it starts, that the document and the router name the
 * same routes.
 */

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A schema that the document names under `components/schemas` and references by `$ref`. */
export interface NamedSchema {
  readonly name: string;
  readonly schema: z.ZodType;
}

export function named(name: string, schema: z.ZodType): NamedSchema {
  return { name, schema };
}

type Schema = z.ZodType | NamedSchema;

export interface ApiResponse {
  description: string;
  /** The body's schema; JSON unless `mediaType` says otherwise. Neither: the answer has no body. */
  body?: Schema;
  /** `application/json` by default. */
  mediaType?: string;
  headers?: Record<string, { description: string; schema: z.ZodType; required?: boolean }>;
}

export interface ApiParameter {
  description: string;
  schema: z.ZodType;
  required?: boolean;
}

export interface ApiOperation {
  method: HttpMethod;
  /** The route as the router spells it: `/v1/orders/:id` (written `/v1/orders/{id}` in the document). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** Path parameters by name (every `:name` of the path; a string unless described here). */
  params?: Record<string, ApiParameter>;
  query?: Record<string, ApiParameter>;
  requestBody?: { description: string; schema: Schema; mediaType?: string; required?: boolean };
  /** By status code (`'200'`, `'4XX'`) or `'default'`. */
  responses: Record<string, ApiResponse>;
}

export interface ApiDescription {
  title: string;
  version?: string;
  description?: string;
  operations: ApiOperation[];
}

/** The parts of an OpenAPI 3.1 document this module writes (and the tests read). */
export interface OpenApiDocument {
  openapi: '3.1.1';
  jsonSchemaDialect: string;
  info: { title: string; version: string; description?: string };
  paths: Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>;
  components: { schemas: Record<string, JsonSchema> };
}

export type JsonSchema = Record<string, unknown>;

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  parameters?: Array<{ name: string; in: 'path' | 'query'; description: string; required: boolean; schema: JsonSchema }>;
  requestBody?: { description: string; required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; headers?: Record<string, { description: string; required: boolean; schema: JsonSchema }>; content?: Record<string, { schema?: JsonSchema }> }>;
}

const dialect = 'https://json-schema.org/draft/2020-12/schema';

/** `/v1/orders/:id/validated` -> `/v1/orders/{id}/validated`. */
export function openApiPath(routerPath: string): string {
  return routerPath.replace(/:(\w+)/g, '{$1}');
}

/** The JSON Schema of a zod schema, as a Schema Object of the document (no `$schema`, nothing that needs `$defs`). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw' }) as JsonSchema;
  // `$defs` references resolve against the document, not the schema: name such schemas instead.
  if ('$defs' in json || '$ref' in json) throw new Error(`a schema with an id or a cycle cannot be inlined: ${JSON.stringify(json).slice(0, 200)}`);
  return json;
}

/**
 * Builds the document. Request bodies are described as the handlers read them (zod's input
 * side), answers as they are written (the output side). Throws when two schemas share a name.
 */
export function openApiDocument(api: ApiDescription): OpenApiDocument {
  const components: Record<string, JsonSchema> = {};
  const schemaOf = (schema: Schema, io: 'input' | 'output'): JsonSchema => {
    if (!('name' in schema && 'schema' in schema)) return jsonSchemaOf(schema, io);
    const json = jsonSchemaOf(schema.schema, io);
    const existing = components[schema.name];
    if (existing && JSON.stringify(existing) !== JSON.stringify(json)) throw new Error(`two different schemas are named ${schema.name}`);
    components[schema.name] = json;
    return { $ref: `#/components/schemas/${schema.name}` };
  };
  const paths: OpenApiDocument['paths'] = {};
  for (const operation of api.operations) {
    const path = openApiPath(operation.path);
    const entry = (paths[path] ??= {});
    if (entry[operation.method]) throw new Error(`${operation.method.toUpperCase()} ${operation.path} is described twice`);
    const pathNames = [...operation.path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
    for (const name of Object.keys(operation.params ?? {})) if (!pathNames.includes(name)) throw new Error(`${operation.path} has no parameter :${name}`);
    const parameters = [
      ...pathNames.map((name) => {
        const described = operation.params?.[name];
        return { name, in: 'path' as const, description: described?.description ?? name, required: true, schema: jsonSchemaOf(described?.schema ?? z.string().min(1), 'input') };
      }),
      ...Object.entries(operation.query ?? {}).map(([name, parameter]) => ({ name, in: 'query' as const, description: parameter.description, required: parameter.required ?? false, schema: jsonSchemaOf(parameter.schema, 'input') })),
    ];
    const responses: OpenApiOperation['responses'] = {};
    for (const [status, response] of Object.entries(operation.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.headers
          ? { headers: Object.fromEntries(Object.entries(response.headers).map(([name, header]) => [name, { description: header.description, required: header.required ?? true, schema: jsonSchemaOf(header.schema, 'output') }])) }
          : {}),
        ...(response.body || response.mediaType ? { content: { [response.mediaType ?? 'application/json']: response.body ? { schema: schemaOf(response.body, 'output') } : {} } } : {}),
      };
    }
    entry[operation.method] = {
      operationId: operation.operationId,
      summary: operation.summary,
      ...(operation.description ? { description: operation.description } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(operation.requestBody
        ? {
            requestBody: {
              description: operation.requestBody.description,
              required: operation.requestBody.required ?? true,
              content: { [operation.requestBody.mediaType ?? 'application/json']: { schema: schemaOf(operation.requestBody.schema, 'input') } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.1',
    jsonSchemaDialect: dialect,
    info: { title: api.title, version: api.version ?? '1.0.0', ...(api.description ? { description: api.description } : {}) },
    paths,
    components: { schemas: components },
  };
}

/** The routes of a document and of a router, as `GET /v1/orders/:id`, that the other lacks. */
export function routeMismatches(document: OpenApiDocument, routes: ReadonlyArray<{ method: string; path: string }>): { undocumented: string[]; unrouted: string[] } {
  const documented = new Set(Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)));
  const routed = new Set(routes.map(({ method, path }) => `${method.toUpperCase()} ${openApiPath(path)}`));
  return { undocumented: [...routed].filter((route) => !documented.has(route)).sort(), unrouted: [...documented].filter((route) => !routed.has(route)).sort() };
}

// The answers every service shares: the error body of the HTTP helper and the probes.

/** Every error answer: `{ error }` and, by case, the details that name the problem. */
export const errorBody = named(
  'Error',
  z
    .object({
      error: z.string().describe('What went wrong, for a person to read.'),
      fields: z.record(z.string(), z.string()).meta({ minProperties: 1 }).optional().describe('For a 400: each field at fault (`body` for the body as a whole) and what is wrong with it.'),
      id: z.string().optional().describe('The order the answer is about.'),
      state: z.string().optional().describe('The state the order is in (a 504 of GET /v1/orders/{id}/validated).'),
      reason: z.string().optional().describe('The cause underneath (a network error, a rebalance).'),
      instance: z.string().optional().describe('The instance (host:port) that did not answer or is not ready.'),
      answer: z.unknown().optional().describe("That instance's own answer."),
    })
    .strict()
    .describe('An error. Always `error`; the other fields when they apply.'),
);

/** A 400: the request is at fault, and `fields` names each part of it that is. */
export const badRequestBody = named(
  'BadRequest',
  z
    .object({
      error: z.string().describe('What went wrong, for a person to read.'),
      fields: z.record(z.string(), z.string()).meta({ minProperties: 1 }).describe('Each field at fault (`body` for the body as a whole) and what is wrong with it.'),
    })
    .strict()
    .describe('A request the service refuses: every field at fault, named.'),
);

export const internalErrorResponse: ApiResponse = { description: 'An unexpected error (logged by the service).', body: errorBody };

const readiness = named('Readiness', z.looseObject({ ready: z.boolean() }).describe("Whether the service is ready, and the service's own details."));

/** What the HTTP server helper serves for every service: `/health`, `/ready` and `/openapi.json`. */
export const probeOperations: ApiOperation[] = [
  {
    method: 'get',
    path: '/health',
    operationId: 'health',
    summary: 'Liveness: the process answers',
    responses: {
      '200': {
        description: 'Up, with what the service reports of itself.',
        body: named('Health', z.looseObject({ status: z.literal('up') }).describe("`status: up` and the service's own details.")),
      },
    },
  },
  {
    method: 'get',
    path: '/ready',
    operationId: 'ready',
    summary: 'Readiness: the service can do its job',
    responses: {
      '200': { description: 'Ready.', body: readiness },
      '503': { description: 'Not ready (yet): state restoring, partitions not assigned, stopping...', body: readiness },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    responses: { '200': { description: 'The OpenAPI 3.1 description of the service.', body: z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string() }), paths: z.record(z.string(), z.unknown()) }) } },
  },
];

/** The document a service serves: every operation answers 500 with an `Error` when it fails unexpectedly. */
export function serviceDocument(api: ApiDescription): OpenApiDocument {
  const operations = api.operations.map((operation) => ({ ...operation, responses: { ...operation.responses, '500': operation.responses['500'] ?? internalErrorResponse } }));
  return openApiDocument({ ...api, operations });
}
