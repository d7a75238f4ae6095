/**
 * A serde turns a typed key or value into the exact bytes on a topic and back. Primitive serdes are
 * synchronous; Avro serdes are asynchronous because they talk to the schema registry. Callers that
 * handle any serde simply `await` both methods.
 */
export interface Serde<T> {
  serialize(value: T): Promise<Buffer> | Buffer;
  deserialize(bytes: Buffer): Promise<T> | T;
}

export interface SyncSerde<T> extends Serde<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

export interface AsyncSerde<T> extends Serde<T> {
  serialize(value: T): Promise<Buffer>;
  deserialize(bytes: Buffer): Promise<T>;
}

export type SerdeErrorReason =
  /** A fixed-width key or value had the wrong number of bytes. */
  | 'wrong-length'
  /** A number does not fit the wire type (int32, int64 as a safe integer). */
  | 'out-of-range'
  /** Bytes that should be UTF-8 text are not. */
  | 'invalid-utf8'
  /** A Confluent-framed value whose first byte is not the magic byte 0. */
  | 'bad-magic-byte'
  /** Fewer than the 5 bytes of the Confluent frame header. */
  | 'too-short'
  /** The registry does not know the schema id on the wire. */
  | 'unknown-schema-id'
  /** The writer schema cannot be read as our reader schema (incompatible evolution). */
  | 'incompatible-schema'
  /** The Avro body does not decode with its writer schema. */
  | 'undecodable-body'
  /** The value to serialize does not match its schema. */
  | 'invalid-value'
  /** The registry refused to register the schema (e.g. an incompatible change). */
  | 'registration-failed'
  /** The registry could not be reached or answered with a server error: worth retrying. */
  | 'registry-unavailable';

const transientReasons: ReadonlySet<SerdeErrorReason> = new Set(['registry-unavailable']);

/**
 * The one error every serde throws. A dead-letter handler reports `reason` and `message`; when
 * `transient` is true the record itself is fine and should be retried rather than dead-lettered.
 */
export class SerdeError extends Error {
  override name = 'SerdeError';

  constructor(
    readonly reason: SerdeErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get transient(): boolean {
    return transientReasons.has(this.reason);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
