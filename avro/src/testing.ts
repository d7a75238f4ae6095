/**
 * Test support (`@ecosystem/avro/testing`): the topics of `topicSerdes` for running a service's
 * topology in the TopologyTestDriver, with no schema registry. Keys keep their real byte formats
 * (the partitioner places records by them); Avro values travel as JSON instead, held to the same
 * Avro schema, so a value the real serde would refuse is refused here too.
 */
import type { AvroRecordName, AvroRecords } from './generated/types.ts';
import { intSerde, longSerde, stringSerde } from './primitive-serdes.ts';
import { recordSchema } from './schemas.ts';
import type { AsyncSerde } from './serdes.ts';
import { describeError, SerdeError } from './serdes.ts';
import { Topics, topicValueRecords, type TopicName, type TopicOptions, type TopicSerdes } from './topics.ts';

type AvroTopic = keyof typeof topicValueRecords;

/**
 * The same topic names (behind `prefix`) and key serdes as `topicSerdes`, and the 4-byte int values
 * of `warehouse-inventory.v1`; every Avro value is UTF-8 JSON of a value valid for its record schema.
 */
export function jsonTopicSerdes(options: TopicOptions = {}): TopicSerdes {
  const name = (topic: TopicName) => `${options.prefix ?? ''}${topic}`;
  const json = <T extends AvroTopic>(topic: T) => jsonValueSerde(topicValueRecords[topic]);
  const stringKeyed = <T extends AvroTopic>(topic: T) => ({ topic: name(topic), key: stringSerde, value: json(topic) });
  return {
    [Topics.orders]: stringKeyed(Topics.orders),
    [Topics.orderValidations]: stringKeyed(Topics.orderValidations),
    [Topics.warehouseInventory]: { topic: name(Topics.warehouseInventory), key: stringSerde, value: intSerde },
    [Topics.payments]: stringKeyed(Topics.payments),
    [Topics.customers]: { topic: name(Topics.customers), key: longSerde, value: json(Topics.customers) },
    [Topics.ordersEnriched]: stringKeyed(Topics.ordersEnriched),
    [Topics.platinum]: stringKeyed(Topics.platinum),
    [Topics.gold]: stringKeyed(Topics.gold),
    [Topics.silver]: stringKeyed(Topics.silver),
    [Topics.bronze]: stringKeyed(Topics.bronze),
  };
}

/**
 * JSON in place of Avro: a value must match the record schema exactly (no missing, mistyped or
 * undeclared fields), both when written and when read, and fails with the SerdeError reasons of
 * the Avro serde.
 */
function jsonValueSerde<N extends AvroRecordName>(record: N): AsyncSerde<AvroRecords[N]> {
  const schema = recordSchema(record);
  const problems = (value: unknown): string[] => {
    const invalid: string[] = [];
    schema.type.isValid(value, { noUndeclaredFields: true, errorHook: (path) => invalid.push(path.join('.') || '(the value itself)') });
    return invalid;
  };
  return {
    async serialize(value) {
      const invalid = problems(value);
      if (invalid.length > 0) throw new SerdeError('invalid-value', `value does not match schema ${schema.fullName}: invalid ${invalid.join(', ')}`);
      return Buffer.from(JSON.stringify(value), 'utf8');
    },
    async deserialize(bytes) {
      let value: unknown;
      try {
        value = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        throw new SerdeError('undecodable-body', `cannot decode ${schema.name} from JSON: ${describeError(error)}`, { cause: error });
      }
      const invalid = problems(value);
      if (invalid.length > 0) throw new SerdeError('undecodable-body', `JSON does not match schema ${schema.fullName}: invalid ${invalid.join(', ')}`);
      return value as AvroRecords[N];
    },
  };
}
