import { afterAll, beforeAll, describe, it } from 'vitest';
import { brokerOutageRound, startPipelineOnPrivateCluster, type PipelineOnPrivateCluster } from './order-load.ts';

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

describe('the broker stops under load and comes back', () => {
  it('stopped (SIGTERM) for a few seconds: every accepted order ends VALIDATED exactly once', () => brokerOutageRound(running!, 'stopped (SIGTERM)', () => running!.cluster.stopBroker(1)), 150_000);
  it('killed (kill -9) for a few seconds: every accepted order ends VALIDATED exactly once', () => brokerOutageRound(running!, 'killed (kill -9)', () => running!.cluster.killBroker(1)), 150_000);
});
