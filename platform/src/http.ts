import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import getRawBody from 'raw-body';
import { z } from 'zod';
import type { Logger } from './logger.ts';
import { collectProcessMetrics, metricsRegistry, observeHttpRequest } from './metrics.ts';
import { errorBody, probeOperations, routeMismatches, serviceDocument, type ApiDescription, type ApiOperation, type ApiResponse } from './openapi.ts';

/** An error the client caused or must know about: its status and a JSON body naming the problem. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface HttpServerOptions {
  logger: Logger;
  router: Router;
  /** Readiness: serve traffic only when true (GET /ready answers 503 otherwise). */
  isReady: () => boolean;
  /** Extra fields for GET /health and /ready. */
  describe?: () => Record<string, unknown>;
  /**
   * The service's API, served with the helper's own routes as OpenAPI 3.1 at `GET /openapi.json`.
   * Its operations must be exactly the router's routes (checked here: a route added without its
   * description stops the service at its start, and the services' unit tests).
   */
  api?: ApiDescription;
  /**
   * API_TOKEN: when set, requests must carry it, as `Authorization: Bearer <token>` (or as the
   * password of HTTP basic auth, which a browser asks for itself): every mutating request
   * (anything but GET, HEAD and OPTIONS) and, with `protectReads`, every request to `router`.
   * /health, /ready, /metrics and /openapi.json stay open: probes and scrapers need no secret,
   * and they tell nothing about orders.
   */
  apiToken?: string;
  protectReads?: boolean;
}

export interface HttpServer {
  app: Koa;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The one HTTP server helper: Koa with JSON errors, request logs, `GET /health` (liveness:
 * the process answers), `GET /ready` (readiness: the service can do its job) and `GET /metrics`
 * (Prometheus: the process, its HTTP requests by route and status, its streams applications).
 */
export function createHttpServer({ logger, router, isReady, describe, api, apiToken, protectReads = false }: HttpServerOptions): HttpServer {
  collectProcessMetrics();
  const app = new Koa();
  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } catch (error) {
      if (error instanceof HttpError) {
        ctx.status = error.status;
        ctx.body = { error: error.message, ...error.details };
      } else {
        logger.error({ error: error instanceof Error ? error.stack : String(error), method: ctx.method, path: ctx.path }, 'request failed');
        ctx.status = 500;
        ctx.body = { error: 'internal error' };
      }
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
      // The route the router matched (@koa/router sets it), so that /v1/orders/:id is one series, not one per order.
      const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      observeHttpRequest({ method: ctx.method, route: route === undefined ? undefined : String(route), status: ctx.status }, ms / 1_000);
    }
  });
  const probes = new Router();
  probes.get('/health', (ctx) => {
    ctx.body = { status: 'up', ...describe?.() };
  });
  probes.get('/ready', (ctx) => {
    const ready = isReady();
    ctx.status = ready ? 200 : 503;
    ctx.body = { ready, ...describe?.() };
  });
  probes.get('/metrics', async (ctx) => {
    ctx.type = metricsRegistry.contentType;
    ctx.body = await metricsRegistry.metrics();
  });
  const protectedOperations = (api?.operations ?? []).map((operation) => (protectReads || !safeMethods.has(operation.method.toUpperCase()) ? { ...operation, responses: { ...operation.responses, '401': unauthorizedResponse } } : operation));
  const document = serviceDocument({ title: api?.title ?? 'HTTP service', ...api, operations: [...helperOperations, ...protectedOperations] });
  probes.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  if (api) {
    const { undocumented, unrouted } = routeMismatches(document, [...routesOf(probes), ...routesOf(router)]);
    if (undocumented.length + unrouted.length > 0) {
      throw new Error(`the OpenAPI description of ${api.title} does not match its routes: ${[...undocumented.map((route) => `${route} is not described`), ...unrouted.map((route) => `${route} has no route`)].join('; ')}`);
    }
  }
  // Errors Koa cannot answer (a client that hung up mid-body) go to the structured log, not stderr.
  app.on('error', (error: Error) => logger.debug({ error: error.message }, 'connection error'));
  app.use(probes.routes());
  if (apiToken !== undefined) app.use(requireToken(apiToken, protectReads));
  app.use(router.routes());
  app.use(router.allowedMethods());

  let server: Server | undefined;
  return {
    app,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server = app.listen(port, host);
        server.keepAliveTimeout = 65_000;
        // Node drops CONNECT requests nobody handles without a word: answer them.
        server.on('connect', (_request, socket) => socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'));
        server.once('listening', () => {
          const address = server!.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is already in use: stop the other process or set PORT`) : error),
        );
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);
const realm = 'order-ecosystem';

const unauthorizedResponse: ApiResponse = {
  description: 'API_TOKEN is set and the request does not carry it: `Authorization: Bearer <token>` (or basic auth with the token as password).',
  body: errorBody,
  headers: { 'WWW-Authenticate': { description: 'The schemes accepted: Bearer, and Basic for browsers.', schema: z.string() } },
};

/** The token of an Authorization header: `Bearer <token>`, or `Basic` with the token as the password (any user name). */
export function presentedToken(authorization: string | undefined): string | undefined {
  const [scheme = '', credentials = ''] = (authorization ?? '').trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return credentials || undefined;
  if (!/^basic$/i.test(scheme)) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/** Compares digests, so the time taken tells nothing of the token, its length included. */
function sameToken(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

function requireToken(token: string, protectReads: boolean): Koa.Middleware {
  return async (ctx, next) => {
    if (!protectReads && safeMethods.has(ctx.method)) return next();
    const presented = presentedToken(ctx.get('authorization'));
    if (presented !== undefined && sameToken(presented, token)) return next();
    ctx.set('WWW-Authenticate', [`Bearer realm="${realm}"`, `Basic realm="${realm}", charset="UTF-8"`]);
    throw new HttpError(401, 'this service needs its API token: Authorization: Bearer <API_TOKEN>', { reason: presented === undefined ? 'no token' : 'wrong token' });
  };
}

/** The headers a client of a protected service sends: none without a token. */
export function authorizationHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

/** The helper's own operations, described in every service's document. */
const helperOperations: ApiOperation[] = [
  ...probeOperations,
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics: the process, its HTTP requests by route and status, its streams applications',
    responses: { '200': { description: 'The metrics, in the Prometheus text format.', mediaType: 'text/plain', body: z.string() } },
  },
];

/** The routes of a router, as method and path (HEAD, which the router adds to every GET, left out). */
export function routesOf(router: Router): Array<{ method: string; path: string }> {
  return router.stack.flatMap((layer) => layer.methods.filter((method) => method !== 'HEAD').map((method) => ({ method, path: String(layer.path) })));
}

/**
 * Reads a JSON request body, answering 400 with the reason for anything else: a wrong
 * content type, an empty or oversized body, invalid JSON.
 */
export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const contentType = ctx.request.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(contentType)) {
    throw new HttpError(400, 'the body must be JSON', { fields: { body: `Content-Type must be application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}` } });
  }
  let text: string;
  try {
    text = await getRawBody(ctx.req, { limit: limitBytes, encoding: 'utf8', length: ctx.request.headers['content-length'] });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw new HttpError(400, 'the body is too large', { fields: { body: `at most ${limitBytes} bytes` } });
    throw new HttpError(400, 'the body could not be read', { fields: { body: error instanceof Error ? error.message : String(error) } });
  }
  if (text.trim() === '') throw new HttpError(400, 'the body is empty', { fields: { body: 'expected a JSON object' } });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, 'the body is not valid JSON', { fields: { body: error instanceof Error ? error.message : 'invalid JSON' } });
  }
}

export { Router };
