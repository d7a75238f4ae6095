import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import type { KafkaStreams, MetricsObserver, StreamsMetricsSnapshot, StreamsState, TaskCounters } from 'kstreams';

/**
 * The metrics of a service process, served in Prometheus' text format at `GET /metrics` by its
 * HTTP server (`createHttpServer`): Node's process metrics, the HTTP requests it served, and the
 * metrics of the streams applications it runs (read from `KafkaStreams.metrics()` at each scrape).
 */
export const metricsRegistry = new Registry();

let processMetricsCollected = false;

/** Node's own metrics (CPU, memory, heap, event loop lag, garbage collection...), once per process. */
export function collectProcessMetrics(): void {
  if (processMetricsCollected) return;
  processMetricsCollected = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests served and their duration, by method, route (the pattern that matched, e.g. /v1/orders/:id) and status',
  labelNames: ['method', 'route', 'status'] as const,
  // Long polls (GET /v1/orders/:id?timeout=...) take seconds.
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});

/** Methods kept as they are; anything else a client sends counts as OTHER (labels must stay few). */
const httpMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** One request served: `route` is the router's pattern, undefined when no route matched (404s of any path count as one route). */
export function observeHttpRequest(request: { method: string; route: string | undefined; status: number }, seconds: number): void {
  httpRequestDuration.observe({ method: httpMethods.has(request.method) ? request.method : 'OTHER', route: request.route ?? 'unmatched', status: String(request.status) }, seconds);
}

// The streams applications of the process, read at each scrape.
const streamsApps = new Set<KafkaStreams>();

type Samples = Iterable<readonly [LabelValues<string>, number]>;

/** A collect function that sets a metric to what the snapshots of the running applications say. */
function fromSnapshots(read: (snapshot: StreamsMetricsSnapshot) => Samples) {
  return function collect(this: { reset(): void; inc(labels: LabelValues<string>, value: number): void }): void {
    this.reset();
    // inc, not set: two instances of one application in one process (tests) add up.
    for (const app of streamsApps) for (const [labels, value] of read(app.metrics())) this.inc(labels, value);
  };
}

const perTask = (counter: keyof TaskCounters) =>
  fromSnapshots((snapshot) => [...snapshot.taskCounters].map(([task, counters]) => [{ application: snapshot.applicationId, task }, counters[counter]] as const));

new Counter({
  name: 'streams_records_processed_total',
  help: 'Records processed, per task (records sent to the dead-letter topic are not counted here)',
  labelNames: ['application', 'task'] as const,
  registers: [metricsRegistry],
  collect: perTask('processed'),
});
new Counter({
  name: 'streams_dead_letters_total',
  help: 'Records sent to the dead-letter topic, per task',
  labelNames: ['application', 'task'] as const,
  registers: [metricsRegistry],
  collect: perTask('deadLetters'),
});
new Counter({
  name: 'streams_restored_records_total',
  help: 'Changelog records restored into the stores of each task (grows while a restore goes on)',
  labelNames: ['application', 'task'] as const,
  registers: [metricsRegistry],
  collect: perTask('restored'),
});
new Counter({
  name: 'streams_restore_skipped_total',
  help: 'Records of a table\'s source topic skipped while restoring it because they can never be read (dead-lettered when first processed), per task',
  labelNames: ['application', 'task'] as const,
  registers: [metricsRegistry],
  collect: perTask('skippedOnRestore'),
});
new Counter({
  name: 'streams_rebalances_total',
  help: 'Assignments the instance has taken, one per rebalance',
  labelNames: ['application'] as const,
  registers: [metricsRegistry],
  collect: fromSnapshots((snapshot) => [[{ application: snapshot.applicationId }, snapshot.rebalances]]),
});

const taskStates = ['restoring', 'running'] as const;
new Gauge({
  name: 'streams_tasks',
  help: 'Tasks assigned to the instance, by state (restoring: from assignment until its stores are up to date)',
  labelNames: ['application', 'state'] as const,
  registers: [metricsRegistry],
  collect: fromSnapshots((snapshot) => taskStates.map((state) => [{ application: snapshot.applicationId, state }, [...snapshot.tasks.values()].filter((task) => task === state).length] as const)),
});

const instanceStates = Object.keys({ created: 0, starting: 0, rebalancing: 0, running: 0, 'pending-shutdown': 0, 'not-running': 0, error: 0 } satisfies Record<StreamsState, 0>);
new Gauge({
  name: 'streams_state',
  help: 'The state of the streams instance: 1 for its current state, 0 for the others',
  labelNames: ['application', 'state'] as const,
  registers: [metricsRegistry],
  collect: fromSnapshots((snapshot) => instanceStates.map((state) => [{ application: snapshot.applicationId, state }, state === snapshot.state ? 1 : 0] as const)),
});
new Gauge({
  name: 'streams_consumer_lag_records',
  help: 'Offsets between the next record a task processes and the end of its input partition (the last stable offset under exactly-once), as of the last fetch',
  labelNames: ['application', 'task', 'topic', 'partition'] as const,
  registers: [metricsRegistry],
  collect: fromSnapshots((snapshot) => snapshot.lag.map(({ task, topic, partition, lag }) => [{ application: snapshot.applicationId, task, topic, partition }, lag] as const)),
});

const commitDuration = new Histogram({
  name: 'streams_commit_duration_seconds',
  help: 'Commits of the instance (one transaction for the outputs, changelogs and offsets of every task) and their duration; _count is the number of commits',
  labelNames: ['application'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});
const restoreDuration = new Histogram({
  name: 'streams_restore_duration_seconds',
  help: 'Restores of a task\'s stores from their changelogs (one per task start) and their duration',
  labelNames: ['application'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
  registers: [metricsRegistry],
});

/** What a streams application of this process hands its commit and restore durations to. */
export function streamsMetricsObserver(applicationId: string): MetricsObserver {
  // prom-client hashes the labels at each observation: fine for commits (a few a second), not for records.
  const commit = commitDuration.labels({ application: applicationId });
  const restore = restoreDuration.labels({ application: applicationId });
  return { commit: (seconds) => commit.observe(seconds), restore: (_task, seconds) => restore.observe(seconds) };
}

/** Adds a streams application's metrics to the process's, until it closes. */
export function exportStreamsMetrics(app: KafkaStreams): void {
  streamsApps.add(app);
  app.onStateChange((state) => {
    if (state === 'not-running') streamsApps.delete(app);
  });
}
