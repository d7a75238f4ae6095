import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Type } from 'avsc';
import type { AvroRecordName, AvroRecords } from './generated/types.ts';
import { fetchWriterType, registerSchema, valueSubject } from './registry.ts';
import type { RecordSchema, SchemaSet } from './schemas.ts';
import { recordSchema } from './schemas.ts';
import type { AsyncSerde } from './serdes.ts';
import { describeError, SerdeError } from './serdes.ts';
import { frame, unframe } from './wire-format.ts';

type Resolver = ReturnType<Type['createResolver']>;

/**
 * Avro in the Confluent wire format. Serializing registers `reader` under `subject` once; reading
 * resolves whatever writer schema the bytes name into `reader`, so older and newer producers work.
 */
export function createAvroSerde<T>(registry: SchemaRegistry, subject: string, reader: RecordSchema): AsyncSerde<T> {
  let registeredId: Promise<number> | undefined;
  const resolvers = new Map<number, Promise<Resolver>>();

  function schemaId(): Promise<number> {
    registeredId ??= registerSchema(registry, subject, reader.json).catch((error: unknown) => {
      registeredId = undefined; // let the next record retry instead of failing forever
      throw error;
    });
    return registeredId;
  }

  function resolverFor(writerId: number): Promise<Resolver> {
    let resolver = resolvers.get(writerId);
    if (resolver === undefined) {
      resolver = fetchWriterType(registry, writerId).then((writer) => createResolver(reader, writer, writerId));
      resolver.catch(() => resolvers.delete(writerId));
      resolvers.set(writerId, resolver);
    }
    return resolver;
  }

  return {
    async serialize(value) {
      const body = encodeBody(reader, value);
      return frame(await schemaId(), body);
    },
    async deserialize(bytes) {
      const { schemaId: writerId, body } = unframe(bytes);
      const resolver = await resolverFor(writerId);
      try {
        return reader.type.fromBuffer(body, resolver) as T;
      } catch (error) {
        throw new SerdeError('undecodable-body', `cannot decode ${reader.name} written with schema id ${writerId}: ${describeError(error)}`, {
          cause: error,
        });
      }
    },
  };
}

/** The value serde of `topic` for one of the project's records, typed by the generated types. */
export function avroValueSerde<N extends AvroRecordName>(
  registry: SchemaRegistry,
  topic: string,
  recordName: N,
  schemas?: SchemaSet,
): AsyncSerde<AvroRecords[N]> {
  return createAvroSerde<AvroRecords[N]>(registry, valueSubject(topic), recordSchema(recordName, schemas));
}

function encodeBody(reader: RecordSchema, value: unknown): Buffer {
  try {
    return reader.type.toBuffer(value);
  } catch (error) {
    const invalidPaths: string[] = [];
    reader.type.isValid(value, { errorHook: (path) => invalidPaths.push(path.join('.') || '(the value itself)') });
    const detail = invalidPaths.length > 0 ? `invalid ${invalidPaths.join(', ')}` : describeError(error);
    throw new SerdeError('invalid-value', `value does not match schema ${reader.fullName}: ${detail}`, { cause: error });
  }
}

function createResolver(reader: RecordSchema, writer: Type, writerId: number): Resolver {
  try {
    return reader.type.createResolver(writer);
  } catch (error) {
    throw new SerdeError('incompatible-schema', `schema id ${writerId} cannot be read as ${reader.fullName}: ${describeError(error)}`, {
      cause: error,
    });
  }
}
