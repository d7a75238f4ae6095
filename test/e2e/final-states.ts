import { Topics } from '@ecosystem/avro';
import type { TestSystem } from './system.ts';

export interface FinalOutcomes {
  /** Every final state (VALIDATED, FAILED) each order got on orders.v1, in order: one each is correct. */
  finals: Map<string, string[]>;
  /** Units of the VALIDATED orders per product: what the inventory must have reserved. */
  validatedUnits: Map<string, number>;
}

/**
 * Reads the whole of orders.v1, once every order of `waitFor` has a final state. Failure tests
 * judge everything on the topic, not only what the client saw: an order produced just before
 * an instance went away can reach the pipeline although its client never saw the 201.
 */
export async function finalOutcomes(system: TestSystem, waitFor: Iterable<string>): Promise<FinalOutcomes> {
  const serdes = system.serdes[Topics.orders];
  const wanted = [...new Set(waitFor)];
  const records = await system.read(serdes.topic, (value) => serdes.value.deserialize(value), (seen) => {
    const final = new Set(seen.filter(({ value }) => value.state !== 'CREATED').map(({ key }) => key));
    return wanted.every((id) => final.has(id));
  });
  const finals = new Map<string, string[]>();
  const validatedUnits = new Map<string, number>();
  for (const { key, value } of records) {
    if (value.state === 'CREATED') continue;
    finals.set(key, [...(finals.get(key) ?? []), value.state]);
    if (value.state === 'VALIDATED') validatedUnits.set(value.product, (validatedUnits.get(value.product) ?? 0) + value.quantity);
  }
  return { finals, validatedUnits };
}

/** Reserved units per product, from every running inventory-service instance (each answers for the products of its own tasks). */
export async function reservedUnits(system: TestSystem): Promise<Record<string, number>> {
  const inventories = system.processes.filter((process) => process.service === 'inventory-service' && !process.stopped);
  const answers = await Promise.all(inventories.map(async ({ port }) => (await (await fetch(`http://127.0.0.1:${port}/v1/stock`)).json()) as Array<{ product: string; reserved: number }>));
  return Object.fromEntries(answers.flat().map((row) => [row.product, row.reserved]));
}
