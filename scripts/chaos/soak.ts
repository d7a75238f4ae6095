/**
 * The chaos soak (`npm run chaos`, and `test/failures/chaos.lifecycle.test.ts` with small
 * numbers): the five pipeline services under an open-loop load of orders, while a seeded
 * random schedule kills (kill -9) one service at a time, or with three brokers sometimes a
 * broker, and starts it again a moment later. Then the load stops, the backlog drains, and
 * orders.v1 (read to its end, read_committed) and the inventory's reservations are checked
 * against what the validators' rules say each order must become.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaCluster } from '@ecosystem/infra';
import { Prng } from '../../test/e2e/support/prng.ts';
import { pipelineServices, TestSystem } from '../../test/e2e/system.ts';
import { OrderLoad, outcome, type AcceptedOrder, type Outcome } from '../../test/failures/order-load.ts';
import { chaosOrders, chaosStock, expectedPairStates, expectedState, isPairOrder, maxUnits } from './orders.ts';

export interface ChaosOptions {
  minutes: number;
  /** Orders posted per second. */
  rate: number;
  brokers: 1 | 3;
  seed: number;
  /** Time between one target back and the next kill, in ms, drawn from [min, max]. */
  gapMs?: readonly [number, number];
  /** How long a killed target stays down, in ms, drawn from [min, max]. */
  downMs?: readonly [number, number];
  /** How long the backlog may take to drain once the load stops. */
  drainTimeoutMs?: number;
  /** Aborting ends the load and the faults early; the checks still run. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  brokers: number;
  rate: number;
  /** How long the load and the faults ran. */
  loadMs: number;
  /** Kills per target: a service name, or `broker <id>`. */
  kills: Record<string, number>;
  /** Of those, services killed again while they started (restoring their state, joining their group). */
  killsWhileStarting: number;
  accepted: number;
  /** Requests not answered 201, by status or error. */
  refused: Record<string, number>;
  /** Final states of the accepted orders on orders.v1, and what the rules say they must be. */
  finalStates: Record<string, number>;
  expectedStates: Record<string, number>;
  validatedUnits: Record<string, number>;
  reservedUnits: Record<string, number>;
  /** From the load's end until every order had its final state. */
  drainMs?: number;
  violations: string[];
}

const describeOrder = ({ id, customerId, product, quantity, price }: AcceptedOrder) => `${id} (customer ${customerId}, ${quantity} x ${product} at ${price})`;
const increment = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  if (options.rate * options.minutes * 60 * maxUnits >= chaosStock.JUMPERS!) throw new Error('the soak would order more than the stock it sets: lower --rate or --minutes');
  const report: ChaosReport = { seed: options.seed, brokers: options.brokers, rate: options.rate, loadMs: 0, kills: {}, killsWhileStarting: 0, accepted: 0, refused: {}, finalStates: {}, expectedStates: {}, validatedUnits: {}, reservedUnits: {}, violations: [] };
  const cluster = options.brokers === 3 ? await KafkaCluster.start({ brokers: 3 }) : undefined;
  let system: TestSystem | undefined;
  try {
    if (cluster) log(`private cluster of 3 brokers: ${cluster.bootstrap}`);
    system = await TestSystem.start({ brokers: cluster?.brokers });
    await system.putStock({ ...chaosStock });
    log(`pipeline started (topic prefix ${system.prefix}); load at ${options.rate} orders/s for ${options.minutes} min`);
    // A customer range of this run's own; the order mix has its own generator, so the fault schedule does not change it.
    const load = new OrderLoad(system, chaosOrders(options.seed, 1_000_000 + (options.seed % 1_000_000) * 1_000));
    const started = Date.now();
    load.start(options.rate);
    try {
      await injectFaults(system, cluster, options, started + options.minutes * 60_000, report, log);
    } catch (error) {
      report.violations.push(`the pipeline did not recover from a fault: ${String(error)}`);
    } finally {
      await load.stop();
      report.loadMs = Date.now() - started;
    }
    report.accepted = load.accepted.length;
    report.refused = Object.fromEntries(load.refused);
    log(`load stopped: ${load.accepted.length} orders accepted; waiting for every order on orders.v1 to reach its final state`);
    const result = await outcome(system, load.accepted, options.drainTimeoutMs ?? 180_000, { everyOrder: true }).catch((error: unknown) => {
      report.violations.push(`the backlog did not drain: ${String(error)}`);
      return undefined;
    });
    if (result) judge(load.accepted, result, report);
    return report;
  } finally {
    await system?.stop().catch((error: unknown) => log(`stopping the pipeline failed: ${String(error)}`));
    await cluster?.destroy();
  }
}

/**
 * Until `until`: a random gap, then kill -9 of a random target, a random time down, a restart
 * and a wait until every service is ready again. One time in five a service is killed again
 * 1-4 s into its restart, while it restores its state and joins its group. One fault at a time;
 * with a cluster, a broker is a target one time in four, and not within 20 s of the last broker
 * coming back (its replicas catch up first).
 */
async function injectFaults(system: TestSystem, cluster: KafkaCluster | undefined, options: ChaosOptions, until: number, report: ChaosReport, log: (line: string) => void): Promise<void> {
  const prng = new Prng(options.seed ^ 0x5eed);
  const [gapMin, gapMax] = options.gapMs ?? [2_000, 8_000];
  const [downMin, downMax] = options.downMs ?? [500, 5_000];
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1_000).toFixed(1).padStart(6)} s`;
  let brokerBack = 0;
  for (;;) {
    // Every draw is made each round, so a seed gives the same sequence of draws.
    const gap = prng.int(gapMin, gapMax);
    const brokerTurn = prng.chance(0.25);
    const service = prng.pick(pipelineServices);
    const broker = cluster ? prng.pick(cluster.nodeIds) : 0;
    const down = prng.int(downMin, downMax);
    const again = prng.chance(0.2);
    const againAfter = prng.int(1_000, 4_000);
    const pause = Math.min(gap, until - Date.now());
    if (pause <= 0 || options.signal?.aborted) return;
    const aborted = await sleep(pause, false, { signal: options.signal }).catch(() => true);
    if (aborted || Date.now() >= until) return;
    const target = cluster && brokerTurn && Date.now() - brokerBack > 20_000 ? `broker ${broker}` : service;
    const killed = Date.now();
    if (target === service) await system.kill(service);
    else await cluster!.killBroker(broker);
    increment(report.kills, target);
    await sleep(down);
    let how = '';
    if (target === service && again) {
      await system.startService(service);
      await sleep(againAfter);
      await system.kill(service);
      increment(report.kills, target);
      report.killsWhileStarting += 1;
      how = `, killed again ${(againAfter / 1_000).toFixed(1)} s into its restart`;
      await sleep(down);
    }
    if (target === service) await system.restart(service);
    else {
      await cluster!.startBroker(broker);
      brokerBack = Date.now();
      await system.waitUntilReady();
    }
    log(`${at()}: kill -9 ${target}, down ${(down / 1_000).toFixed(1)} s${how}, all ready ${((Date.now() - killed) / 1_000).toFixed(1)} s after the kill`);
  }
}

/**
 * Each accepted order: exactly one final state, the one its rules give (for a pair, one VALIDATED
 * and one FAILED); every order on the topic final once; reserved = validated.
 */
function judge(accepted: AcceptedOrder[], result: Outcome, report: ChaosReport): void {
  const ids = new Set<string>();
  const pairs = new Map<number, AcceptedOrder[]>();
  for (const order of accepted) {
    ids.add(order.id);
    const states = result.finals.get(order.id) ?? [];
    for (const state of states) increment(report.finalStates, state);
    if (states.length !== 1) {
      report.violations.push(`${describeOrder(order)}: ${states.length === 0 ? 'no final state' : `${states.length} final states, ${states.join(', ')}`}`);
    } else if (isPairOrder(order)) {
      pairs.set(order.customerId, [...(pairs.get(order.customerId) ?? []), order]);
    } else {
      const expected = expectedState(order);
      increment(report.expectedStates, expected);
      if (states[0] !== expected) report.violations.push(`${describeOrder(order)}: ${states[0]}, its rules say ${expected}`);
    }
  }
  for (const pair of pairs.values()) {
    // Half a pair accepted: the other half may have been written without a 201, and counted first.
    if (pair.length !== 2) {
      increment(report.expectedStates, 'either (half a pair)');
      continue;
    }
    const expected = expectedPairStates(pair[0]!, pair[1]!);
    for (const state of expected) increment(report.expectedStates, state);
    const got = pair.map((order) => result.finals.get(order.id)![0]!);
    if ([...got].sort().join() !== [...expected].sort().join()) report.violations.push(`pair ${pair.map(describeOrder).join(' and ')}: ${got.join(' and ')}, its rules say ${[...expected].sort().join(' and ')}`);
  }
  // Orders written although their client got no 201 (the orders service killed mid-request) are judged too.
  for (const [id, history] of result.finalizedTwice) if (!ids.has(id)) report.violations.push(`${id} (not acknowledged to its client): ${history.join(' -> ')}`);
  for (const id of result.unfinished) if (!ids.has(id)) report.violations.push(`${id} (not acknowledged to its client): on orders.v1 with no final state`);
  report.validatedUnits = result.validatedUnits;
  report.reservedUnits = result.reservedUnits;
  for (const product of new Set([...Object.keys(result.validatedUnits), ...Object.keys(result.reservedUnits)])) {
    const validated = result.validatedUnits[product] ?? 0;
    const reserved = result.reservedUnits[product] ?? 0;
    if (validated !== reserved) report.violations.push(`${product}: ${reserved} units reserved, ${validated} in VALIDATED orders`);
  }
  report.drainMs = result.drainMs;
}

export function formatReport(report: ChaosReport): string {
  const counts = (record: Record<string, number>) =>
    Object.entries(record)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, count]) => `${key}: ${count}`)
      .join(', ') || 'none';
  const totalKills = Object.values(report.kills).reduce((sum, count) => sum + count, 0);
  const refused = Object.values(report.refused).reduce((sum, count) => sum + count, 0);
  const shown = report.violations.slice(0, 50);
  return [
    `chaos soak: seed ${report.seed}, ${report.brokers} broker${report.brokers === 1 ? '' : 's'}, ${report.rate} orders/s for ${(report.loadMs / 60_000).toFixed(1)} min`,
    `kills: ${totalKills} (${counts(report.kills)}), ${report.killsWhileStarting} of them while the service started`,
    `orders: ${report.accepted} accepted, ${refused} refused (${counts(report.refused)})`,
    `final states of accepted orders: ${counts(report.finalStates)}; the rules say ${counts(report.expectedStates)}`,
    `validated units: ${counts(report.validatedUnits)}; reserved: ${counts(report.reservedUnits)}`,
    `backlog drained ${report.drainMs === undefined ? '-' : `${(report.drainMs / 1_000).toFixed(1)} s`} after the load stopped`,
    `violations: ${report.violations.length}`,
    ...shown.map((violation) => `  ${violation}`),
    ...(report.violations.length > shown.length ? [`  ... and ${report.violations.length - shown.length} more`] : []),
  ].join('\n');
}
