import { describe, expect, it } from 'vitest';
import { createSchemaRegistry, intSerde, SerdeError, Topics, topicSerdes, type Order } from '../src/index.ts';
import { jsonTopicSerdes } from '../src/testing.ts';

const order: Order = { id: 'order-1', customerId: 7, state: 'CREATED', product: 'UNDERPANTS', quantity: 3, price: 12.5 };

async function reasonOf(action: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    if (error instanceof SerdeError) return error.reason;
    throw error;
  }
  return undefined;
}

describe('jsonTopicSerdes (the test driver stand-in for topicSerdes)', () => {
  // Building the real map does not contact the registry: its serdes register lazily on first use.
  const registry = createSchemaRegistry('http://127.0.0.1:1/unused');

  it.each([undefined, 'run-42.'])('has the topic names and the very key serdes of topicSerdes (prefix %s)', (prefix) => {
    const options = prefix === undefined ? {} : { prefix };
    const real = topicSerdes(registry, options);
    const json = jsonTopicSerdes(options);
    expect(Object.keys(json).sort()).toEqual(Object.keys(real).sort());
    for (const topic of Object.values(Topics)) {
      expect(json[topic].topic).toBe(`${prefix ?? ''}${topic}`);
      expect(json[topic].topic).toBe(real[topic].topic);
      expect(json[topic].key).toBe(real[topic].key);
    }
    expect(json[Topics.warehouseInventory].value).toBe(intSerde);
  });

  it('writes every Avro-valued topic as UTF-8 JSON and reads it back', async () => {
    const serdes = jsonTopicSerdes();
    const bytes = await serdes[Topics.orders].value.serialize(order);
    expect(bytes.toString('utf8')).toBe('{"id":"order-1","customerId":7,"state":"CREATED","product":"UNDERPANTS","quantity":3,"price":12.5}');
    expect(await serdes[Topics.orders].value.deserialize(bytes)).toEqual(order);
    const validation = { orderId: 'order-1', checkType: 'FRAUD_CHECK', validationResult: 'PASS' } as const;
    expect(await serdes[Topics.orderValidations].value.deserialize(await serdes[Topics.orderValidations].value.serialize(validation))).toEqual(validation);
    const customer = { id: 9, firstName: 'Ada', lastName: 'L', email: 'ada@example.com', address: '1 Main St', level: 'gold' };
    expect(await serdes[Topics.customers].value.deserialize(await serdes[Topics.customers].value.serialize(customer))).toEqual(customer);
    expect(serdes[Topics.customers].key.serialize(9)).toEqual(Buffer.from('0000000000000009', 'hex'));
  });

  it('refuses, as the Avro serde would, a value that does not match its record schema', async () => {
    const { value } = jsonTopicSerdes()[Topics.orders];
    const wrong = (changes: Record<string, unknown>) => ({ ...order, ...changes }) as Order;
    await expect(value.serialize(wrong({ quantity: 1.5, state: 'SENT' }))).rejects.toThrow(
      'value does not match schema io.confluent.examples.streams.avro.microservices.Order: invalid state, quantity',
    );
    expect(await reasonOf(() => value.serialize(wrong({ customerId: 2 ** 53 })))).toBe('invalid-value');
    // Avro would drop an undeclared field silently; JSON would carry it: both are refused here.
    expect(await reasonOf(() => value.serialize(wrong({ note: 'extra' })))).toBe('invalid-value');
    const { id: _id, ...withoutId } = order;
    expect(await reasonOf(() => value.serialize(withoutId as Order))).toBe('invalid-value');
  });

  it('refuses bytes that are not JSON of the record', async () => {
    const { value } = jsonTopicSerdes()[Topics.orders];
    await expect(value.deserialize(Buffer.from('{"id":'))).rejects.toThrow(/^cannot decode Order from JSON: /);
    expect(await reasonOf(() => value.deserialize(Buffer.from('{"id":')))).toBe('undecodable-body');
    await expect(value.deserialize(Buffer.from(JSON.stringify({ ...order, product: 'HATS' })))).rejects.toThrow(
      'JSON does not match schema io.confluent.examples.streams.avro.microservices.Order: invalid product',
    );
  });
});
