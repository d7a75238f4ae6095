import { describe, expect, it } from 'vitest';
import { formatReport, runChaos } from '../../scripts/chaos/soak.ts';
import { Prng } from '../e2e/support/prng.ts';

/**
 * `npm run chaos` in small: 90 s of orders at 20/s on the shared broker, a random pipeline
 * service killed (kill -9) every few seconds and restarted. Every accepted order must end
 * exactly once in the state its rules give, and the inventory must have reserved exactly the
 * validated units. CHAOS_SEED replays a run (the seed is printed).
 */
describe('chaos soak', () => {
  it('kills random services under load: every order ends once, as its rules say', async () => {
    const seed = Prng.seedFrom('CHAOS_SEED');
    const report = await runChaos({ minutes: 1.5, rate: 20, brokers: 1, seed, log: (line) => console.log(`chaos: ${line}`) });
    console.log(formatReport(report));
    expect(report.violations).toEqual([]);
    expect(Object.values(report.kills).reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(5);
    expect(report.finalStates.VALIDATED).toBeGreaterThan(0);
    expect(report.finalStates.FAILED).toBeGreaterThan(0);
  }, 360_000);
});
