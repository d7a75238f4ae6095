import type { KafkaCluster } from '@ecosystem/infra';
import { ConfigResourceTypes } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestSystem } from '../e2e/system.ts';
import { outcome, startPipelineOnPrivateCluster, timeUntilValidated, type OrderLoad, type PipelineOnPrivateCluster } from './order-load.ts';

/**
 * The path for users who outgrow one broker: the five pipeline services on a private
 * three-node cluster (replication factor 3, min.insync.replicas 2, the local cluster's
 * settings), created by the same code as on one broker. One broker, the leader of an orders
 * partition, is killed under load and restarted later: the others carry on, nothing is lost
 * and no order is finalized twice.
 */
let running: PipelineOnPrivateCluster | undefined;
let cluster: KafkaCluster;
let system: TestSystem;
let load: OrderLoad;

beforeAll(async () => {
  running = await startPipelineOnPrivateCluster(3);
  ({ cluster, system, load } = running);
}, 240_000);

afterAll(async () => {
  await running?.stop();
}, 120_000);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const step = (started: number, what: string) => console.log(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);

describe('a three-broker cluster', () => {
  it('gives every topic of the system, its internal topics and the transaction and offset logs 3 replicas and min.insync.replicas 2', async () => {
    const admin = system.kafka.admin();
    const topics = (await admin.listTopics({ includeInternals: true })).filter((topic) => topic.startsWith(system.prefix) || topic === '__consumer_offsets' || topic === '__transaction_state');
    // The system's topics, the services' changelog, repartition and dead-letter topics, and Kafka's own.
    expect(topics.filter((topic) => topic.startsWith(system.prefix)).length).toBeGreaterThan(15);
    expect(topics).toContain('__transaction_state');
    // Replicas are counted on the brokers' log dirs: the client's metadata leaves Kafka's internal
    // topics out. Those are asked for with Kafka's default partition count (50, above the
    // cluster's 10); a broker answers for the partitions it holds.
    const metadata = await admin.metadata({ topics: topics.filter((topic) => !topic.startsWith('__')), forceUpdate: true });
    const partitionsOf = (topic: string) => Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 50 }, (_, partition) => partition);
    const logDirs = await admin.describeLogDirs({ topics: topics.map((name) => ({ name, partitions: partitionsOf(name) })) });
    const held = new Map<string, Map<number, number>>(topics.map((topic) => [topic, new Map()]));
    for (const { results } of logDirs) {
      for (const { topics: hosted } of results) {
        for (const { name, partitions } of hosted) {
          const counts = held.get(name);
          for (const { partitionIndex, isFutureKey } of partitions) if (counts && !isFutureKey) counts.set(partitionIndex, (counts.get(partitionIndex) ?? 0) + 1);
        }
      }
    }
    expect([...held].filter(([, counts]) => counts.size === 0).map(([topic]) => topic)).toEqual([]);
    const replicas = [...held].flatMap(([name, counts]) => [...counts].map(([partition, count]) => [`${name}-${partition}`, count] as const));
    expect(replicas.filter(([, count]) => count !== 3)).toEqual([]);
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((name) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configurationKeys: ['min.insync.replicas'] })) });
    const minInSync = configs.map(({ resourceName, configs: entries }) => [resourceName, entries[0]?.value] as const);
    expect(minInSync.filter(([, value]) => value !== '2')).toEqual([]);
  });

  it('loses nothing when the leader of an orders partition is killed (kill -9) under load and comes back', async () => {
    const started = Date.now();
    load.start(20);
    await load.acceptedMore(60, 'orders to flow before the kill');
    const orders = await system.kafka.admin().metadata({ topics: [`${system.prefix}orders.v1`], forceUpdate: true });
    const victim = orders.topics.get(`${system.prefix}orders.v1`)!.partitions[0]!.leader;
    await cluster.killBroker(victim);
    const killed = Date.now();
    step(started, `killed broker ${victim}, ${load.accepted.length} orders accepted so far`);
    const acceptedBeforeKill = load.accepted.length;
    // How long the broker stays dead is what the test is about.
    await pause(20_000);
    const acceptedWhileDown = load.accepted.length - acceptedBeforeKill;
    step(started, `${acceptedWhileDown} orders accepted since the kill; starting broker ${victim} again`);
    await cluster.startBroker(victim);
    const back = Date.now();
    step(started, `broker ${victim} is back`);
    const recoveryMs = await timeUntilValidated(system, load, back, 60_000);
    await load.acceptedMore(60, 'orders to flow after the broker came back');
    await load.stop();
    step(started, `load stopped, ${load.accepted.length} orders accepted`);

    const result = await outcome(system, load.accepted, 60_000);
    console.log(
      `broker ${victim} (leader of orders.v1-0) killed: ${acceptedWhileDown} orders accepted in the 20 s after the kill; back ${((back - killed) / 1000).toFixed(1)} s after it; ` +
        `accepted ${load.accepted.length} in all, refused ${JSON.stringify(Object.fromEntries(load.refused))}; ` +
        `first order after it came back validated in ${(recoveryMs / 1000).toFixed(1)} s; backlog finished ${(result.drainMs / 1000).toFixed(1)} s after the load stopped; ` +
        `test took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    // Two brokers of three are enough to accept writes: the API kept taking orders with one dead.
    expect(acceptedWhileDown).toBeGreaterThan(20);
    expect([...result.finals].filter(([, states]) => states.length !== 1 || states[0] !== 'VALIDATED')).toEqual([]);
    expect(result.finalizedTwice).toEqual([]);
    expect(result.reservedUnits).toEqual(result.validatedUnits);
  }, 180_000);
});
