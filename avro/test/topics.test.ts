import { describe, expect, it } from 'vitest';
import {
  createSchemaRegistry,
  customerLevels,
  customerLevelTopic,
  intSerde,
  isCustomerLevel,
  longSerde,
  stringSerde,
  Topics,
  topicSerdes,
} from '../src/index.ts';

// Building the map does not contact the registry: serdes register lazily on first use.
const serdes = topicSerdes(createSchemaRegistry('http://127.0.0.1:1/unused'));

describe('topic serdes', () => {
  it('cover every topic of the design under its own name', () => {
    expect(Object.keys(serdes).sort()).toEqual(Object.values(Topics).sort());
    for (const [topic, { topic: named }] of Object.entries(serdes)) expect(named).toBe(topic);
  });

  it('use the byte formats of DESIGN.md section 2', () => {
    expect(serdes[Topics.customers].key).toBe(longSerde);
    expect(serdes[Topics.warehouseInventory].value).toBe(intSerde);
    for (const topic of Object.values(Topics).filter((name) => name !== Topics.customers)) {
      expect(serdes[topic].key).toBe(stringSerde);
    }
    expect(serdes[Topics.customers].key.serialize(9)).toHaveLength(8);
    expect(serdes[Topics.warehouseInventory].value.serialize(75)).toHaveLength(4);
  });

  it('route enriched orders by customer level', () => {
    expect(customerLevels.map(customerLevelTopic)).toEqual(['platinum', 'gold', 'silver', 'bronze']);
    expect(isCustomerLevel('gold')).toBe(true);
    expect(isCustomerLevel('diamond')).toBe(false);
  });
});
