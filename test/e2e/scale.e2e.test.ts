import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/kafka.ts';
import { finalOutcomes, reservedUnits } from './final-states.ts';
import { pipelineServices, TestSystem, type ServiceName, type ServiceProcess } from './system.ts';

/**
 * Each pipeline service in turn scaled to two instances and back to one while orders flow:
 * the second instance joins the group and takes some of the tasks, then leaves on SIGTERM
 * and hands them back. Every order the API accepted ends in exactly one final state, the
 * inventory reserved exactly the validated units, and every GET sent right after its POST's
 * 201 (through the other orders-service instance whenever two run) finds the order.
 */
let system: TestSystem;

/** Ids of the orders the API answered 201 for. */
const accepted: string[] = [];
/** Every failed request as text, so a failing test lists each case. */
const postFailures: string[] = [];
const readFailures: string[] = [];
const durations: Record<string, number> = {};

beforeAll(async () => {
  system = await TestSystem.start();
  await system.putStock({ JUMPERS: 1_000_000, UNDERPANTS: 1_000_000, STOCKINGS: 1_000_000 });
}, 180_000);

afterAll(async () => {
  const examples = [...new Set([...postFailures, ...readFailures].map((failure) => failure.replace(/[0-9a-f-]{36}/g, '<id>')))].slice(0, 5);
  console.info(`scale test: ${accepted.length} orders accepted, ${postFailures.length} POST failures, ${readFailures.length} read-your-writes failures; ms per service: ${JSON.stringify(durations)}${examples.length > 0 ? `\n${examples.join('\n')}` : ''}`);
  await system?.stop();
}, 60_000);

/**
 * Orders at a steady rate, each POST followed at once by a GET of the order it created. The
 * requests overlap (a GET may wait out a rebalance), so the rate holds while tasks move.
 * Clients spread over the orders-service instances of `clientInstances`, and read through
 * another instance than the one they wrote through.
 */
class OrderLoad {
  private clientInstances = [0];
  private readonly inFlight = new Set<Promise<void>>();
  private running = true;
  private readonly loop: Promise<void>;
  private sent = 0;

  constructor(perSecond: number) {
    this.loop = (async () => {
      while (this.running) {
        // Bounded: a stalled system slows the test down instead of piling up requests.
        if (this.inFlight.size < 60) {
          const request = this.postThenGet(this.sent);
          this.sent += 1;
          this.inFlight.add(request);
          void request.finally(() => this.inFlight.delete(request));
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000 / perSecond));
      }
    })();
  }

  /** Sends clients to these orders-service instances from now on. */
  useInstances(instances: number[]): void {
    this.clientInstances = instances;
  }

  /** Waits for every request sent so far (e.g. before stopping an instance clients used). */
  async drain(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.drain();
  }

  private async postThenGet(index: number): Promise<void> {
    const instances = this.clientInstances;
    const writeThrough = instances[index % instances.length]!;
    const readThrough = instances[(index + 1) % instances.length]!;
    const products = ['JUMPERS', 'UNDERPANTS', 'STOCKINGS'];
    const product = products[index % products.length]!;
    const quantity = 1 + (index % 3);
    let id: string;
    try {
      const { status, body } = await system.postOrder({ customerId: 50_000 + index, product, quantity, price: 1 }, writeThrough);
      if (status !== 201) {
        postFailures.push(`POST via #${writeThrough}: ${status} ${JSON.stringify(body)}`);
        return;
      }
      id = body.id as string;
      accepted.push(id);
    } catch (error) {
      postFailures.push(`POST via #${writeThrough}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    try {
      const { status, body } = await system.getOrder(id, { instance: readThrough, timeoutMs: 20_000 });
      if (status !== 200 || body.id !== id) readFailures.push(`GET ${id} via #${readThrough}: ${status} ${JSON.stringify(body)}`);
    } catch (error) {
      readFailures.push(`GET ${id} via #${readThrough}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function running(service: ServiceName): ServiceProcess[] {
  return system.processes.filter((process) => process.service === service && !process.stopped);
}

/** The instance's readiness and the tasks it owns, from its /ready answer (not ready while it does not listen yet). */
async function tasksOf(process: ServiceProcess): Promise<{ ready: boolean; tasks: string[] }> {
  try {
    const response = await fetch(`http://127.0.0.1:${process.port}/ready`);
    const body = (await response.json()) as { tasks?: string[] };
    return { ready: response.ok, tasks: body.tasks ?? [] };
  } catch {
    return { ready: false, tasks: [] };
  }
}

/**
 * Waits until every running instance of `service` is ready and the instances own disjoint,
 * non-empty sets of tasks that together are all `taskCount` tasks: the group has rebalanced.
 */
async function waitUntilBalanced(service: ServiceName, taskCount: number): Promise<string[][]> {
  return eventually(
    async () => {
      const states = await Promise.all(running(service).map(tasksOf));
      const owned = states.flatMap((state) => state.tasks);
      const balanced = states.every((state) => state.ready && state.tasks.length > 0) && new Set(owned).size === owned.length && owned.length === taskCount;
      return balanced ? states.map((state) => state.tasks) : undefined;
    },
    `${service}: every instance ready with its own share of the ${taskCount} tasks`,
    60_000,
  );
}

/** Resolves once `count` more orders were accepted than now. */
async function acceptMore(count: number): Promise<void> {
  const target = accepted.length + count;
  await eventually(() => accepted.length >= target, `${count} more accepted orders`, 30_000);
}

describe('scaling each service to two instances and back under load', () => {
  it.each(pipelineServices as ServiceName[])('%s: a second instance joins and leaves, no order lost or finalized twice, reads see writes', async (service) => {
    const started = Date.now();
    const before = accepted.length;
    const failuresBefore = { post: postFailures.length, read: readFailures.length };
    const [single] = await waitUntilBalanced(service, (await tasksOf(running(service)[0]!)).tasks.length);
    const taskCount = single!.length;
    const load = new OrderLoad(20);
    try {
      await acceptMore(20);

      // Scale out: the new instance takes a share of the tasks while orders keep coming.
      await system.startService(service, 1);
      const shares = await waitUntilBalanced(service, taskCount);
      expect(shares).toHaveLength(2);
      if (service === 'orders-service') load.useInstances([0, 1]);
      await acceptMore(30);

      // Scale in: clients stop using the leaving instance (as a load balancer drains it), and
      // it leaves on SIGTERM while the other instance keeps taking and forwarding orders.
      if (service === 'orders-service') {
        load.useInstances([0]);
        await load.drain();
      }
      await system.kill(service, 'SIGTERM', 1);
      const [remaining] = await waitUntilBalanced(service, taskCount);
      expect(remaining).toHaveLength(taskCount);
      await acceptMore(20);
    } finally {
      await load.stop();
    }
    expect(accepted.length - before).toBeGreaterThanOrEqual(70);

    const phase = accepted.slice(before);
    const history = await system.orderHistory(phase);
    const wrong = phase
      .map((id) => ({ id, finals: history.get(id)!.filter((order) => order.state !== 'CREATED').map((order) => order.state) }))
      .filter(({ finals }) => finals.length !== 1 || finals[0] !== 'VALIDATED');
    expect(wrong).toEqual([]);
    expect(postFailures.slice(failuresBefore.post)).toEqual([]);
    expect(readFailures.slice(failuresBefore.read)).toEqual([]);
    durations[service] = Date.now() - started;
  }, 120_000);

  it('reserved exactly the units of the validated orders, and no order anywhere got two final states', async () => {
    const { finals, validatedUnits } = await finalOutcomes(system, accepted);
    expect([...finals].filter(([, states]) => states.length !== 1)).toEqual([]);
    // Every order on the topic was accepted by the API: no POST the client saw fail went through after all.
    const acceptedIds = new Set(accepted);
    expect([...finals.keys()].filter((id) => !acceptedIds.has(id))).toEqual([]);
    expect(await reservedUnits(system)).toEqual(Object.fromEntries(validatedUnits));
  });
});
