import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiProblems, operationsOf, ResponseValidator, servedDocument } from '../../test/support/openapi.ts';
import { createHttpServer, HttpError, Router } from '../src/http.ts';
import { createLogger } from '../src/logger.ts';
import { badRequestBody, errorBody, named, openApiDocument, type ApiDescription } from '../src/openapi.ts';

const thing = named('Thing', z.object({ id: z.string(), size: z.int().min(0) }));

function thingsRouter(): Router {
  const router = new Router();
  router.get('/v1/things/:id', (ctx) => {
    if (ctx.params.id === 'missing') throw new HttpError(404, 'no such thing', { id: ctx.params.id });
    ctx.set('x-size', '1');
    ctx.body = { id: ctx.params.id, size: ctx.params.id === 'broken' ? -1 : 1 };
  });
  router.post('/v1/things', () => {
    throw new HttpError(400, 'bad thing', { fields: { size: 'must be a number' } });
  });
  return router;
}

const thingsApi: ApiDescription = {
  title: 'things',
  operations: [
    {
      method: 'get',
      path: '/v1/things/:id',
      operationId: 'getThing',
      summary: 'A thing',
      query: { timeout: { description: 'ms', schema: z.int().min(0) } },
      responses: {
        '200': { description: 'The thing.', body: thing, headers: { 'x-size': { description: 'Its size.', schema: z.string() } } },
        '404': { description: 'No such thing.', body: errorBody },
      },
    },
    {
      method: 'post',
      path: '/v1/things',
      operationId: 'createThing',
      summary: 'Make a thing',
      requestBody: { description: 'The thing.', schema: z.object({ size: z.number() }).strict() },
      responses: { '201': { description: 'Made.', body: thing }, '400': { description: 'Refused.', body: badRequestBody } },
    },
  ],
};

describe('the OpenAPI documents of the HTTP server helper', () => {
  it('are OpenAPI 3.1, with the helper routes, the routes of the service and a 500 for each', async () => {
    const document = await servedDocument(thingsRouter(), thingsApi);
    expect(await openApiProblems(document)).toEqual([]);
    expect(document.openapi).toBe('3.1.1');
    expect(operationsOf(document).sort()).toEqual(['GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /ready', 'GET /v1/things/{id}', 'POST /v1/things']);
    const get = document.paths['/v1/things/{id}']!.get!;
    expect(get.parameters).toEqual([
      { name: 'id', in: 'path', description: 'id', required: true, schema: { type: 'string', minLength: 1 } },
      { name: 'timeout', in: 'query', description: 'ms', required: false, schema: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
    ]);
    expect(get.responses['200']!.content!['application/json']!.schema).toEqual({ $ref: '#/components/schemas/Thing' });
    expect(Object.keys(get.responses)).toEqual(['200', '404', '500']);
    // The request body as the handler reads it (zod's input side), the answers as written.
    expect(document.paths['/v1/things']!.post!.requestBody!.content['application/json']!.schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['size'] });
    expect(document.components.schemas.Thing).toEqual({
      type: 'object',
      properties: { id: { type: 'string' }, size: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
      required: ['id', 'size'],
      additionalProperties: false,
    });
  });

  it('are checked: a document that is not OpenAPI 3.1, or has a schema JSON Schema cannot compile, has problems', async () => {
    const document = openApiDocument(thingsApi);
    const broken = structuredClone(document);
    delete (broken.paths['/v1/things']!.post!.responses['201'] as { description?: string }).description;
    expect((await openApiProblems(broken)).join()).toMatch(/not valid OpenAPI/);
    const badSchema = structuredClone(document);
    badSchema.components.schemas.Thing = { type: 'object', minProperties: 'one' };
    expect((await openApiProblems(badSchema)).join()).toMatch(/minProperties/);
  });

  it('refuse to start a service whose routes and description differ', () => {
    const logger = createLogger('openapi-test', 'silent');
    const extra = thingsRouter();
    extra.delete('/v1/things/:id', () => undefined);
    expect(() => createHttpServer({ logger, router: extra, isReady: () => true, api: thingsApi })).toThrow('DELETE /v1/things/{id} is not described');
    expect(() => createHttpServer({ logger, router: new Router(), isReady: () => true, api: thingsApi })).toThrow(/GET \/v1\/things\/\{id\} has no route.*POST \/v1\/things has no route/);
  });

  it('refuse two different schemas under one name, and a parameter the path lacks', () => {
    const other = named('Thing', z.object({ name: z.string() }));
    const operation = thingsApi.operations[1]!;
    expect(() => openApiDocument({ title: 't', operations: [{ ...operation, responses: { '201': { description: 'x', body: thing }, '400': { description: 'y', body: other } } }] })).toThrow('two different schemas are named Thing');
    expect(() => openApiDocument({ title: 't', operations: [{ ...operation, params: { id: { description: 'x', schema: z.string() } } }] })).toThrow('/v1/things has no parameter :id');
  });
});

describe('ResponseValidator', () => {
  it('accepts real answers of the documented operations, error answers included, and names what is wrong with others', async () => {
    const server = createHttpServer({ logger: createLogger('openapi-test', 'silent'), router: thingsRouter(), isReady: () => false, api: thingsApi });
    const url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
    try {
      const validator = await ResponseValidator.fetch(url);
      const exchange = async (method: string, target: string, body?: string) => {
        const response = await fetch(`${url}${target}`, { method, ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}) });
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => (headers[name] = value));
        return validator.problems({ method, target }, { status: response.status, headers, body: await response.text() });
      };
      expect(await exchange('GET', '/v1/things/a?timeout=5')).toEqual([]);
      expect(await exchange('HEAD', '/v1/things/a')).toEqual([]);
      expect(await exchange('GET', '/v1/things/missing')).toEqual([]);
      expect(await exchange('POST', '/v1/things', '{}')).toEqual([]);
      expect(await exchange('GET', '/ready')).toEqual([]); // 503, documented
      expect(await exchange('GET', '/health')).toEqual([]);
      expect(await exchange('GET', '/openapi.json')).toEqual([]);
      expect(await exchange('GET', '/metrics')).toEqual([]);
      expect((await exchange('GET', '/v1/things/broken'))!.join()).toMatch(/does not match the documented schema: data\/size must be >= 0/);
      expect(await exchange('GET', '/no/such/path')).toBeUndefined();
      expect(await exchange('DELETE', '/v1/things/a')).toBeUndefined();
      expect(validator.problems({ method: 'POST', target: '/v1/things' }, { status: 409, headers: {}, body: '' })).toEqual(['status 409 is not documented for POST /v1/things (documented: 201, 400, 401, 500)']);
      expect(validator.problems({ method: 'GET', target: '/v1/things/a' }, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"a","size":1}' })).toEqual(['the 200 answer lacks its header x-size']);
      expect(validator.problems({ method: 'GET', target: '/v1/things/a' }, { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' })).toEqual(['the 404 answer is text/plain, documented: application/json']);
      expect(() => validator.check({ method: 'GET', target: '/v1/things/x' }, { status: 404, headers: { 'content-type': 'application/json' }, body: '{"error":"x","extra":1}' })).toThrow(/must NOT have additional properties/);
    } finally {
      await server.close();
    }
  });
});
