/**
 * The chaos soak: the five pipeline services under a steady load of orders while random
 * services (and, on three brokers, brokers) are killed with kill -9 and restarted; then every
 * order is checked against the validators' rules (scripts/chaos/soak.ts). Exits 1 on any violation.
 *
 *   npm run chaos -- --minutes 30 --rate 50
 *   npm run chaos -- --minutes 5 --rate 50 --brokers 3 --seed 42
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { down, nonNegativeInteger, positiveInteger, positiveNumber, up, type ServerName } from '@ecosystem/infra';
import { Prng } from '../test/e2e/support/prng.ts';
import { formatReport, runChaos } from './chaos/soak.ts';
import { abortOnFirstInterrupt } from './interrupt.ts';

function brokerCount(text: string): 1 | 3 {
  const count = positiveInteger(text);
  if (count !== 1 && count !== 3) throw new InvalidArgumentError('expected 1 or 3.');
  return count;
}

function seed(text: string): number {
  const value = nonNegativeInteger(text);
  if (value > 0xffff_ffff) throw new InvalidArgumentError('expected a whole number from 0 to 4294967295.');
  return value;
}

const options = new Command()
  .name('npm run chaos --')
  .description(
    'Runs the order pipeline under a steady load while killing (kill -9) random services, and with --brokers 3 sometimes a broker, ' +
      'restarting each a few seconds later; then checks that every accepted order has exactly one final state, the one its rules give, ' +
      'and that the inventory reserved exactly the validated units. Prints a report; exits 1 on any violation.',
  )
  .addOption(new Option('--minutes <minutes>', 'how long the load and the faults last').default(30).argParser(positiveNumber))
  .addOption(new Option('--rate <perSecond>', 'orders posted per second, open loop').default(50).argParser(positiveNumber))
  .addOption(new Option('--brokers <count>', '1: the local infrastructure (started if it is not running); 3: a private three-broker cluster, whose brokers are killed too').default(1).argParser(brokerCount))
  .addOption(new Option('--seed <seed>', 'the random seed of the order mix and the fault schedule (printed; give it to replay a run)').argParser(seed))
  .option('--keep-infra', 'leave running the local servers this run had to start')
  .parse()
  .opts<{ minutes: number; rate: number; brokers: 1 | 3; seed?: number; keepInfra?: boolean }>();

const chosenSeed = options.seed ?? Prng.randomSeed();
console.log(`chaos soak: seed ${chosenSeed} (replay with --seed ${chosenSeed}), ${options.brokers} broker(s), ${options.rate} orders/s for ${options.minutes} min`);

// Ctrl-C ends the load and the faults early; the checks still run. A second one leaves at once.
const interrupted = abortOnFirstInterrupt('interrupted: stopping the load and the faults, then checking (again to leave at once)');

// The registry is needed in both cases (the services' schemas); the local broker only for --brokers 1.
const servers: ServerName[] = options.brokers === 1 ? ['kafka', 'registry'] : ['registry'];
const startedHere = await up(servers, (line) => console.log(`[infra] ${line}`));
let failed = true;
try {
  const report = await runChaos({ ...options, seed: chosenSeed, signal: interrupted, log: (line) => console.log(line) });
  console.log(`\n${formatReport(report)}`);
  failed = report.violations.length > 0;
} finally {
  if (startedHere.length > 0 && !options.keepInfra) await down(startedHere, (line) => console.log(`[infra] ${line}`));
}
process.exit(failed ? 1 : 0);
