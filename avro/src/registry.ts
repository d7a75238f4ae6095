import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import type { Type } from 'avsc';
import { describeError, SerdeError } from './serdes.ts';

/** Apicurio's Confluent-compatible API; a Confluent registry is addressed by its root URL instead. */
export const defaultSchemaRegistryUrl = 'http://127.0.0.1:8081/apis/ccompat/v7';

export type SchemaRegistryClientArgs = ConstructorParameters<typeof SchemaRegistry>[0];

export function createSchemaRegistry(
  url: string = process.env['SCHEMA_REGISTRY_URL'] ?? defaultSchemaRegistryUrl,
  clientArgs: Omit<SchemaRegistryClientArgs, 'host'> = {},
): SchemaRegistry {
  return new SchemaRegistry({ clientId: 'order-ecosystem', ...clientArgs, host: url });
}

/** The subject of a topic's values under the topic-name strategy. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * The id of `schemaJson` under `subject`, registering it when the subject does not have it yet.
 * A look-up comes first so that a known schema costs no write and no compatibility-config call.
 */
export async function registerSchema(registry: SchemaRegistry, subject: string, schemaJson: string): Promise<number> {
  const schema = { type: SchemaType.AVRO, schema: schemaJson } as const;
  try {
    return await registry.getRegistryIdBySchema(subject, schema);
  } catch (error) {
    // The client turns the registry's 404 ("subject or schema not found") into this plain error.
    if (errorName(error) !== 'ConfluentSchemaRegistryError') throw registrationError(subject, error);
  }
  try {
    return (await registry.register(schema, { subject, compatibility: COMPATIBILITY.BACKWARD })).id;
  } catch (error) {
    if (errorName(error) !== 'ConfluentSchemaRegistryCompatibilityError') throw registrationError(subject, error);
  }
  // The client refuses to register when the subject's configured level differs from the one asked
  // for. Apicurio releases before mid-2026 report NONE for a subject without its own rule (Confluent
  // and newer Apicurio answer 404): accept that level rather than fail; the registry still enforces
  // whatever global rule applies.
  try {
    return (await registry.register(schema, { subject, compatibility: COMPATIBILITY.NONE })).id;
  } catch (error) {
    throw registrationError(subject, error);
  }
}

/** The writer schema of `schemaId` as an avsc type; the client caches it per id. */
export async function fetchWriterType(registry: SchemaRegistry, schemaId: number): Promise<Type> {
  let schema: unknown;
  try {
    schema = await registry.getSchema(schemaId);
  } catch (error) {
    const status = httpStatus(error);
    if (status === 404) throw new SerdeError('unknown-schema-id', `schema id ${schemaId} is not in the registry`, { cause: error });
    if (status !== undefined) {
      throw new SerdeError('registry-unavailable', `cannot fetch schema id ${schemaId}: ${describeError(error)}`, { cause: error });
    }
    throw new SerdeError('incompatible-schema', `schema id ${schemaId} is not a usable Avro schema: ${describeError(error)}`, { cause: error });
  }
  if (!isAvroType(schema)) throw new SerdeError('incompatible-schema', `schema id ${schemaId} is not an Avro schema`);
  return schema;
}

function isAvroType(value: unknown): value is Type {
  return avro.Type.isType(value);
}

function registrationError(subject: string, error: unknown): SerdeError {
  const status = httpStatus(error);
  // The HTTP client reports connection failures as status 400 and timeouts as 408.
  const unavailable = status !== undefined && (status >= 500 || status === 400 || status === 408);
  return new SerdeError(
    unavailable ? 'registry-unavailable' : 'registration-failed',
    `cannot register the schema of subject ${subject}: ${describeError(error)}`,
    { cause: error },
  );
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  return typeof error.status === 'number' ? error.status : undefined;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
