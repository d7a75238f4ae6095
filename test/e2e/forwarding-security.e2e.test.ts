import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createKafka, createLogger, createStreamsApp, loadConfig, streamsConfig } from '@ecosystem/platform';
import type { KafkaStreams } from 'kstreams';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ordersStore, ordersViewTopology } from '../../orders-service/src/topology.ts';
import { eventually } from '../support/eventually.ts';
import { exchangeRaw, type Exchange, type RequestSpec } from './support/raw-http.ts';
import { TestSystem } from './system.ts';

/**
 * Two orders-service instances forward each request to the one owning the order. Whatever a
 * client puts in the request target or the headers, and whatever a member of the group
 * advertises as its endpoint, nothing is sent anywhere but to an instance: a local HTTP server
 * stands for a service on the same host (Elasticsearch on :9200 in the finding) and must
 * receive nothing.
 */
let system: TestSystem;
let victim: http.Server;
let victimPort: number;
const victimRequests: string[] = [];
/** Orders created through instance 0, one owned by each instance. */
const ownedBy: Array<string | undefined> = [undefined, undefined];
const json: Array<[string, string]> = [['Content-Type', 'application/json']];
/** The instances ask for it: so forwarding only works if they send it to each other. */
const apiToken = 'forwarding-test-token-0123456789';

const endpointOf = (instance: number) => new URL(system.ordersUrl(instance)).host;
const portOf = (instance: number) => Number(new URL(system.ordersUrl(instance)).port);
const orderBody = (id?: string) => Buffer.from(JSON.stringify({ ...(id ? { id } : {}), customerId: 1, product: 'JUMPERS', quantity: 1, price: 1 }));

function send(instance: number, request: Partial<RequestSpec> & { target: string; withoutToken?: boolean }, timeoutMs = 15_000): Promise<Exchange> {
  const body = request.body;
  const headers: Array<[string, string]> = [
    ['Host', endpointOf(instance)],
    ...(request.withoutToken ? [] : [['Authorization', `Bearer ${apiToken}`] as [string, string]]),
    ...(body ? [...json, ['Content-Length', String(body.length)] as [string, string]] : []),
    ...(request.headers ?? []),
  ];
  return exchangeRaw(portOf(instance), { method: 'GET', ...request, headers }, timeoutMs);
}

function answerOf(exchange: Exchange): { status: number; headers: Record<string, string>; body: Record<string, unknown>; ms: number } {
  if (!exchange.ok) throw new Error(`no answer: ${exchange.failure}`);
  return { status: exchange.answer.status, headers: exchange.answer.headers, body: JSON.parse(exchange.answer.body.toString()) as Record<string, unknown>, ms: exchange.ms };
}

beforeAll(async () => {
  victim = http.createServer((request, response) => {
    victimRequests.push(`${request.method} ${request.url} (Host: ${request.headers.host})`);
    response.setHeader('content-type', 'application/json');
    response.end('{"id":"an answer of the victim"}');
  });
  await new Promise<void>((resolve) => victim.listen(0, '127.0.0.1', resolve));
  victimPort = (victim.address() as AddressInfo).port;
  system = await TestSystem.start({ ordersInstances: 2, services: ['orders-service'], environment: { API_TOKEN: apiToken } });
  for (let attempt = 0; attempt < 40 && ownedBy.includes(undefined); attempt += 1) {
    const created = answerOf(await send(0, { method: 'POST', target: '/v1/orders', body: orderBody() }));
    expect(created.status).toBe(201);
    const owner = created.headers['x-served-by'] === endpointOf(1) ? 1 : 0;
    ownedBy[owner] ??= String(created.body.id);
  }
  expect(ownedBy, 'an order owned by each instance').not.toContain(undefined);
}, 180_000);

afterEach(() => {
  expect(victimRequests, 'requests that reached a host other than an instance').toEqual([]);
});

afterAll(async () => {
  await system?.stop();
  await new Promise((resolve) => victim?.close(resolve));
}, 60_000);

describe('forwarding between orders-service instances', () => {
  it('asks every client for the token, and sends it to the owner itself', async () => {
    for (const instance of [0, 1]) {
      for (const request of [{ target: `/v1/orders/${ownedBy[1]}` }, { method: 'POST', target: '/v1/orders', body: orderBody() }]) {
        const refused = answerOf(await send(instance, { ...request, withoutToken: true }));
        expect(refused.status).toBe(401);
        expect(refused.body.error).toContain('API token');
      }
      const probe = await send(instance, { target: '/ready', withoutToken: true });
      expect(probe.ok && probe.answer.status).toBe(200);
    }
    // Through the instance that does not own it: the owner asks the forwarding instance for the token too.
    expect(answerOf(await send(0, { target: `/v1/orders/${ownedBy[1]}` })).status).toBe(200);
  });

  it('takes only the path and query of an absolute-form request target, for GET, /validated and POST', async () => {
    const remote = ownedBy[1]!;
    const victimHost = `127.0.0.1:${victimPort}`;
    const read = answerOf(await send(0, { target: `http://${victimHost}/v1/orders/${remote}?timeout=5000`, headers: [['X-Forwarded-Host', victimHost]] }));
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(remote);
    expect(read.headers['x-served-by']).toBe(endpointOf(1));

    // No pipeline runs here: the owner waits for a final state that never comes, and says so.
    const validated = answerOf(await send(0, { target: `http://${victimHost}/v1/orders/${remote}/validated?timeout=300` }));
    expect(validated.status).toBe(504);
    expect(validated.body).toMatchObject({ id: remote, state: 'CREATED' });

    // New ids until one belongs to the other instance, so that the POST is forwarded.
    let forwardedPosts = 0;
    for (let attempt = 0; attempt < 40 && forwardedPosts === 0; attempt += 1) {
      const id = randomUUID();
      const created = answerOf(await send(0, { method: 'POST', target: `http://${victimHost}/v1/orders`, body: orderBody(id) }));
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.id).toBe(id);
      if (created.headers['x-served-by'] === endpointOf(1)) forwardedPosts += 1;
    }
    expect(forwardedPosts).toBe(1);

    // A scheme-relative path is a path like any other: no route has it.
    const schemeRelative = await send(0, { target: `//${victimHost}/v1/orders/${remote}` });
    expect(schemeRelative.ok && schemeRelative.answer.status).toBe(404);
  });

  it('gives a client that sends the forwarding headers itself an answer at once, never a wait nor another host', async () => {
    const remote = ownedBy[1]!;
    const spoofed: Array<[string, string]> = [
      ['x-forwarded-by', `127.0.0.1:${victimPort}`],
      ['x-remaining-ms', '600000'],
    ];
    for (const target of [`/v1/orders/${remote}?timeout=5000`, `/v1/orders/${remote}/validated?timeout=5000`]) {
      // Sent to the instance that does not own the order: it must neither forward it nor wait out the timeout.
      const refused = answerOf(await send(0, { target, headers: spoofed }));
      expect(refused.ms, `${target} answered after ${refused.ms} ms`).toBeLessThan(2_000);
      expect(refused.status).toBe(503);
      expect(refused.headers['x-not-owner']).toBe(endpointOf(0));
      expect(refused.headers['retry-after']).toBe('1');
    }
    // Sent to the owner, the header changes nothing, and the remaining time it claims cannot lengthen the wait.
    const owner = answerOf(await send(1, { target: `/v1/orders/${remote}`, headers: spoofed }));
    expect(owner.status).toBe(200);
    const shortWait = answerOf(await send(1, { target: `/v1/orders/${remote}/validated?timeout=200`, headers: spoofed }));
    expect(shortWait.status).toBe(504);
    expect(shortWait.ms).toBeLessThan(2_000);
    // A POST with the header, for an order of the other instance: refused, nothing produced.
    const post = answerOf(await send(0, { method: 'POST', target: '/v1/orders', body: orderBody(remote), headers: spoofed }));
    expect([409, 503]).toContain(post.status);
  });

  describe('with a member of the group that advertises an endpoint other than host:port', () => {
    let odd: KafkaStreams | undefined;
    let oddKafka: ReturnType<typeof createKafka> | undefined;
    let stateDirectory: string;
    afterAll(async () => {
      await odd?.close();
      await oddKafka?.close();
      await rm(stateDirectory, { recursive: true, force: true });
    }, 60_000);

    it('never calls it, and answers 503 for the orders it owns', async () => {
      stateDirectory = await mkdtemp(path.join(os.tmpdir(), 'odd-member-'));
      const config = loadConfig({ ...streamsConfig }, {
        APPLICATION_ID: `${system.prefix}orders-service`,
        STATE_DIR: stateDirectory,
        INSTANCE_ID: 'odd',
        PROCESSING_GUARANTEE: 'at-least-once',
        SESSION_TIMEOUT_MS: '6000',
      });
      const logger = createLogger('odd-member', 'silent');
      const kafka = createKafka({ clientId: `${system.prefix}odd-member`, config: system.settings, logger });
      oddKafka = kafka;
      // user@host:port: a URL built as http://<endpoint> would call the victim.
      odd = createStreamsApp({ service: 'orders-service', topology: ordersViewTopology(system.serdes, () => undefined), kafka, logger, config: { ...config, TOPIC_PREFIX: system.prefix }, endpoint: `member@127.0.0.1:${victimPort}` });
      await odd.start();
      const member = odd;
      await eventually(() => member.isReady, 'the odd member to be ready', 60_000);
      let id = randomUUID();
      while (member.ownerOf(ordersStore, id).status !== 'local') id = randomUUID();
      const refused = await eventually(
        async () => {
          const answer = answerOf(await send(0, { target: `/v1/orders/${id}?timeout=1000` }));
          return answer.status === 503 && String(answer.body.reason).includes('is not host:port') ? answer : undefined;
        },
        'instance 0 to refuse the order of the odd member',
        60_000,
      );
      expect(refused.body.reason).toContain(`member@127.0.0.1:${victimPort}`);
      expect(refused.headers['retry-after']).toBe('1');
    });
  });
});
