import type { KafkaStreams, StreamsMetricsSnapshot, StreamsState } from 'kstreams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsParseError, parseMetrics, samplesOf, scrape, sumOf } from '../../test/support/prometheus.ts';
import { createHttpServer, HttpError, Router, type HttpServer } from '../src/http.ts';
import { createLogger } from '../src/logger.ts';
import { exportStreamsMetrics, metricsRegistry, streamsMetricsObserver } from '../src/metrics.ts';

describe('GET /metrics of the HTTP server helper', () => {
  let server: HttpServer;
  let url: string;

  beforeAll(async () => {
    const router = new Router();
    router.get('/v1/things/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    router.post('/v1/things', () => {
      throw new HttpError(400, 'bad thing');
    });
    router.get('/boom', () => {
      throw new Error('broken');
    });
    server = createHttpServer({ logger: createLogger('metrics-test', 'silent'), router, isReady: () => true });
    url = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  });

  afterAll(() => server.close());

  it('counts requests by method, route pattern and status, and serves the process metrics', async () => {
    for (const id of ['a', 'b', 'c']) expect((await fetch(`${url}/v1/things/${id}`)).status).toBe(200);
    expect((await fetch(`${url}/v1/things`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${url}/boom`)).status).toBe(500);
    expect((await fetch(`${url}/no/such/path/${Math.random()}`)).status).toBe(404);
    expect((await fetch(`${url}/v1/things/a`, { method: 'PROPFIND' })).status).toBe(501);
    expect((await fetch(`${url}/ready`)).status).toBe(200);

    const metrics = await scrape(url);
    const count = (labels: Record<string, string>) => sumOf(metrics, 'http_request_duration_seconds_count', labels);
    expect(count({ method: 'GET', route: '/v1/things/:id', status: '200' })).toBe(3);
    expect(count({ method: 'POST', route: '/v1/things', status: '400' })).toBe(1);
    expect(count({ method: 'GET', route: '/boom', status: '500' })).toBe(1);
    expect(count({ method: 'GET', route: '/ready', status: '200' })).toBe(1);
    // Paths no route matched are one series, and so are methods nobody uses: labels stay few.
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(count({ method: 'OTHER', route: 'unmatched', status: '501' })).toBe(1);
    expect(samplesOf(metrics, 'http_request_duration_seconds_count').every((sample) => !sample.labels.route!.includes('/a'))).toBe(true);
    expect(metrics.get('http_request_duration_seconds')!.type).toBe('histogram');
    expect(sumOf(metrics, 'http_request_duration_seconds_sum', { route: '/v1/things/:id' })).toBeGreaterThan(0);

    // Node's process metrics.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) expect(metrics.has(name), name).toBe(true);
    expect(sumOf(metrics, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // The scrape itself is counted by the next one.
    expect(sumOf(await scrape(url), 'http_request_duration_seconds_count', { route: '/metrics', status: '200' })).toBe(1);
  });

  it('can be created twice in one process (the process metrics are collected once)', async () => {
    const second = createHttpServer({ logger: createLogger('metrics-test', 'silent'), router: new Router(), isReady: () => false });
    const port = await second.listen(0, '127.0.0.1');
    try {
      expect(sumOf(await scrape(`http://127.0.0.1:${port}`), 'process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  });
});

describe('streams metrics', () => {
  /** A streams application as the exporter sees it: its snapshot and its state changes. */
  function fakeApp(snapshot: StreamsMetricsSnapshot) {
    const listeners: Array<(state: StreamsState, previous: StreamsState) => void> = [];
    const app = { metrics: () => snapshot, onStateChange: (listener: (state: StreamsState, previous: StreamsState) => void) => listeners.push(listener) };
    return { app: app as unknown as KafkaStreams, close: () => listeners.forEach((listener) => listener('not-running', 'pending-shutdown')) };
  }

  it('exports the snapshot of each running application: task counters, states, lag, rebalances', async () => {
    const { app, close } = fakeApp({
      applicationId: 'metrics-test-app',
      state: 'running',
      rebalances: 3,
      commits: 10,
      commitSeconds: 0.2,
      taskCounters: new Map([
        ['0_0', { processed: 120, deadLetters: 2, restored: 7, skippedOnRestore: 0 }],
        ['0_1', { processed: 80, deadLetters: 0, restored: 0, skippedOnRestore: 0 }],
      ]),
      tasks: new Map([
        ['0_0', 'running'],
        ['0_1', 'restoring'],
      ]),
      lag: [{ task: '0_0', topic: 'orders', partition: 0, position: 10, endOffset: 15, lag: 5 }],
    });
    exportStreamsMetrics(app);
    const application = 'metrics-test-app';
    let metrics = parseMetrics(await metricsRegistry.metrics());
    expect(sumOf(metrics, 'streams_records_processed_total', { application, task: '0_0' })).toBe(120);
    expect(sumOf(metrics, 'streams_records_processed_total', { application })).toBe(200);
    expect(sumOf(metrics, 'streams_dead_letters_total', { application, task: '0_0' })).toBe(2);
    expect(sumOf(metrics, 'streams_restored_records_total', { application, task: '0_0' })).toBe(7);
    expect(sumOf(metrics, 'streams_rebalances_total', { application })).toBe(3);
    expect(sumOf(metrics, 'streams_tasks', { application, state: 'running' })).toBe(1);
    expect(sumOf(metrics, 'streams_tasks', { application, state: 'restoring' })).toBe(1);
    expect(sumOf(metrics, 'streams_state', { application, state: 'running' })).toBe(1);
    expect(sumOf(metrics, 'streams_state', { application, state: 'rebalancing' })).toBe(0);
    expect(samplesOf(metrics, 'streams_consumer_lag_records')).toEqual([{ name: 'streams_consumer_lag_records', labels: { application, task: '0_0', topic: 'orders', partition: '0' }, value: 5 }]);
    expect(metrics.get('streams_records_processed_total')!.type).toBe('counter');
    expect(metrics.get('streams_consumer_lag_records')!.type).toBe('gauge');

    // A closed application's series go.
    close();
    metrics = parseMetrics(await metricsRegistry.metrics());
    expect(samplesOf(metrics, 'streams_records_processed_total').filter((sample) => sample.labels.application === application)).toEqual([]);
    expect(samplesOf(metrics, 'streams_consumer_lag_records')).toEqual([]);
  });

  it('keeps histograms of commit and restore durations', async () => {
    const observer = streamsMetricsObserver('metrics-test-durations');
    observer.commit!(0.004);
    observer.commit!(0.2);
    observer.restore!('0_0', 1.5);
    const metrics = parseMetrics(await metricsRegistry.metrics());
    const application = 'metrics-test-durations';
    expect(sumOf(metrics, 'streams_commit_duration_seconds_count', { application })).toBe(2);
    expect(sumOf(metrics, 'streams_commit_duration_seconds_bucket', { application, le: '0.005' })).toBe(1);
    expect(sumOf(metrics, 'streams_commit_duration_seconds_sum', { application })).toBeCloseTo(0.204);
    expect(sumOf(metrics, 'streams_restore_duration_seconds_count', { application })).toBe(1);
  });
});

describe('the text format parser of the tests', () => {
  const header = '# HELP x_total Things.\n# TYPE x_total counter\n';

  it('reads labels with escapes and values', () => {
    const metrics = parseMetrics(`${header}x_total{path="C:\\\\dir",note="say \\"hi\\"\\n"} 1.5e3\nx_total 2 1700000000000\n`);
    expect(metrics.get('x_total')).toEqual({
      name: 'x_total',
      type: 'counter',
      help: 'Things.',
      samples: [
        { name: 'x_total', labels: { path: 'C:\\dir', note: 'say "hi"\n' }, value: 1500 },
        { name: 'x_total', labels: {}, value: 2 },
      ],
    });
  });

  it.each([
    ['a sample of no declared family', 'y_total 1\n'],
    ['a series twice', 'x_total{a="1"} 1\nx_total{a="1"} 2\n'],
    ['a bad escape', 'x_total{a="\\t"} 1\n'],
    ['an unquoted label value', 'x_total{a=1} 1\n'],
    ['a missing value', 'x_total{a="1"}\n'],
    ['a bad value', 'x_total 1,5\n'],
    ['a bad label name', 'x_total{1a="1"} 1\n'],
  ])('rejects %s', (_what, body) => {
    expect(() => parseMetrics(header + body)).toThrow(MetricsParseError);
  });

  it('rejects a histogram whose buckets are not cumulative or do not end with +Inf = _count', () => {
    const histogram = '# TYPE h histogram\n';
    expect(() => parseMetrics(`${histogram}h_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n`)).toThrow(/not cumulative/);
    expect(() => parseMetrics(`${histogram}h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n`)).toThrow(/_count/);
    expect(() => parseMetrics(`${histogram}h_bucket{le="1"} 1\nh_sum 1\nh_count 1\n`)).toThrow(/\+Inf/);
  });
});
