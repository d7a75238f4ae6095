/**
 * How keys and values become bytes. Topic serdes may be asynchronous (Avro values fetch
 * their schema from the registry); store serdes are synchronous because stores are read on
 * every record. The serdes of `@ecosystem/avro` satisfy these interfaces structurally.
 */
export interface Serde<T> {
  serialize(value: T): Buffer | Promise<Buffer>;
  deserialize(bytes: Buffer): T | Promise<T>;
}

export interface SyncSerde<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

export interface KeyValueSerdes<K, V> {
  key: Serde<K>;
  value: Serde<V>;
}

/** JSON for values the application owns (store contents, repartition records of plain objects). */
export function jsonSerde<T>(): SyncSerde<T> {
  return {
    serialize: (value) => Buffer.from(JSON.stringify(value)),
    deserialize: (bytes) => JSON.parse(bytes.toString('utf8')) as T,
  };
}

export const stringSerde: SyncSerde<string> = {
  serialize: (value) => Buffer.from(value, 'utf8'),
  deserialize: (bytes) => bytes.toString('utf8'),
};

/** 8-byte big-endian signed long, as Kafka's LongSerializer writes it. */
export const longSerde: SyncSerde<number> = {
  serialize: (value) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64BE(BigInt(value));
    return bytes;
  },
  deserialize: (bytes) => Number(bytes.readBigInt64BE(0)),
};
