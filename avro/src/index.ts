export type { AsyncSerde, Serde, SerdeErrorReason, SyncSerde } from './serdes.ts';
export { SerdeError } from './serdes.ts';
export { intSerde, longSerde, stringSerde } from './primitive-serdes.ts';
export type { FramedValue } from './wire-format.ts';
export { frame, magicByte, unframe, wireHeaderLength } from './wire-format.ts';
export type { SchemaRegistryClientArgs } from './registry.ts';
export { createSchemaRegistry, defaultSchemaRegistryUrl, fetchWriterType, registerSchema, valueSubject } from './registry.ts';
export { avroValueSerde, createAvroSerde } from './avro-serde.ts';
export type { CustomerLevel, KeyValueSerdes, TopicName, TopicOptions, TopicSerdes } from './topics.ts';
export { Topics, customerLevels, customerLevelTopic, isCustomerLevel, registerTopicSchemas, topicSerdes, topicValueRecords } from './topics.ts';
export type { RecordSchema, SchemaSet } from './schemas.ts';
export {
  defaultSchemaDirectory,
  loadSchemaSet,
  projectSchemaSet,
  readSchemaModel,
  recordSchema,
  schemaSetFromModel,
} from './schemas.ts';
export type { SchemaModel } from './schema-model.ts';
export { SchemaModelError } from './schema-model.ts';
export { selfContainedSchemaJson } from './schema-json.ts';
export * from './generated/types.ts';
