import { afterAll, beforeAll, describe, it } from 'vitest';
import { brokerOutageRound, startPipelineOnPrivateCluster, type PipelineOnPrivateCluster } from './order-load.ts';

/**
 * kill -9 of the only broker under load, then a restart: a separate suite
 * (`npm run test:broker-crash`) because it still fails about one run in four with an order
 * finalized twice (VALIDATED, VALIDATED): the known exactly-once gap after a crash of the
 * only broker, under investigation. A clean stop of the only broker and kill -9 of one broker
 * of three are in `npm test`.
 */
let running: PipelineOnPrivateCluster | undefined;

beforeAll(async () => {
  running = await startPipelineOnPrivateCluster(1);
}, 180_000);

afterAll(async () => {
  await running?.stop();
}, 120_000);

describe('the only broker crashes under load and comes back', () => {
  it('killed (kill -9) for a few seconds: every accepted order ends VALIDATED exactly once', () => brokerOutageRound(running!, 'killed (kill -9)', () => running!.cluster.killBroker(1)), 150_000);
});
