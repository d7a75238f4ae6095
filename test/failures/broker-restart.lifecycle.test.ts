import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcome, startPipelineOnPrivateCluster, timeUntilValidated, type PipelineOnPrivateCluster } from './order-load.ts';

/**
 * The only broker goes away under load for a few seconds and comes back, twice: a clean stop
 * (SIGTERM), then a crash (kill -9). The five pipeline services run on a private one-node
 * cluster, so the shared broker and every other test are untouched: they reconnect and finish
 * every order the API accepted, each exactly once.
 */
let running: PipelineOnPrivateCluster | undefined;

beforeAll(async () => {
  running = await startPipelineOnPrivateCluster(1);
}, 180_000);

afterAll(async () => {
  await running?.stop();
}, 120_000);

/**
 * One round of a broker outage under load: orders at 20/s, `takeDown` once 60 are accepted,
 * the broker back 4 s later; then every order the API accepted must end VALIDATED exactly once, and the
 * inventory must have reserved exactly the validated units. Orders refused meanwhile are fine.
 */
async function brokerOutageRound({ cluster, system, load }: PipelineOnPrivateCluster, how: string, takeDown: () => Promise<void>): Promise<void> {
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const started = Date.now();
  const before = load.accepted.length;
  load.start(20);
  let down = 0;
  let back = 0;
  let recoveryMs = 0;
  try {
    await load.acceptedMore(60, 'orders to flow before the broker goes down');
    await takeDown();
    down = Date.now();
    // How long the broker stays down is what the round is about.
    await pause(4_000);
    await cluster.startBroker(1);
    back = Date.now();
    recoveryMs = await timeUntilValidated(system, load, back);
    await load.acceptedMore(60, 'orders to flow after the broker came back');
  } finally {
    await load.stop();
  }

  const result = await outcome(system, load.accepted);
  console.log(
    `broker ${how}: down ${((back - down) / 1000).toFixed(1)} s; accepted ${load.accepted.length - before} this round (${load.accepted.length} in all), ` +
      `refused ${JSON.stringify(Object.fromEntries(load.refused))}; first order after the broker came back validated in ${(recoveryMs / 1000).toFixed(1)} s; ` +
      `backlog finished ${(result.drainMs / 1000).toFixed(1)} s after the load stopped; round took ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  expect(load.accepted.length - before).toBeGreaterThan(60);
  expect([...result.finals].filter(([, states]) => states.length !== 1 || states[0] !== 'VALIDATED')).toEqual([]);
  expect(result.finalizedTwice).toEqual([]);
  expect(result.reservedUnits).toEqual(result.validatedUnits);
}

describe('the broker stops under load and comes back', () => {
  it('stopped (SIGTERM) for a few seconds: every accepted order ends VALIDATED exactly once', () => brokerOutageRound(running!, 'stopped (SIGTERM)', () => running!.cluster.stopBroker(1)), 150_000);
  it('killed (kill -9) for a few seconds: every accepted order ends VALIDATED exactly once', () => brokerOutageRound(running!, 'killed (kill -9)', () => running!.cluster.killBroker(1)), 150_000);
});
