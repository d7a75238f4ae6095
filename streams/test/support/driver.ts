/**
 * Shared scaffolding of the TopologyTestDriver unit tests: the common serdes, a driver that is
 * closed after every test, and collecting what a store iterates over into an array.
 */
import { afterEach } from 'vitest';
import { jsonSerde, stringSerde, type ReadOnlyKeyValueStore, type Topology } from '../../src/index.ts';
import { TopologyTestDriver, type DriverOptions } from '../../src/test-driver.ts';

export const strings = { key: stringSerde, value: stringSerde };
export const numbers = { key: stringSerde, value: jsonSerde<number>() };

export interface TopologyDriver {
  /** Creates the driver for this test; it is closed after the test. */
  start(topology: Topology, options?: DriverOptions): Promise<TopologyTestDriver>;
  /** Closes the driver now (a test that starts several in turn); a no-op when none is open. */
  close(): Promise<void>;
}

/** Registers an `afterEach` that closes the driver the test started; call it at module level. */
export function useTopologyDriver(): TopologyDriver {
  let driver: TopologyTestDriver | undefined;
  const close = async () => {
    await driver?.close();
    driver = undefined;
  };
  afterEach(close);
  return {
    start: async (topology, options = {}) => {
      driver = await TopologyTestDriver.create(topology, options);
      return driver;
    },
    close,
  };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}

/** Every entry of a key-value store, in key order. */
export function entries<K, V>(store: ReadOnlyKeyValueStore<K, V>): Promise<Array<[K, V]>> {
  return collect(store.all());
}
