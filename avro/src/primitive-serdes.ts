import type { SyncSerde } from './serdes.ts';
import { SerdeError } from './serdes.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text, byte-compatible with Kafka's StringSerializer. */
export const stringSerde: SyncSerde<string> = {
  serialize(value) {
    return Buffer.from(value, 'utf8');
  },
  deserialize(bytes) {
    try {
      return strictUtf8.decode(bytes);
    } catch (error) {
      throw new SerdeError('invalid-utf8', `expected UTF-8 text, got bytes ${bytes.toString('hex')}`, { cause: error });
    }
  },
};

/**
 * 8-byte big-endian signed long, byte-compatible with Kafka's LongSerializer (what Connect's
 * LongConverter and ksqlDB BIGINT keys use). Only safe integers map to JS numbers exactly.
 */
export const longSerde: SyncSerde<number> = {
  serialize(value) {
    if (!Number.isSafeInteger(value)) {
      throw new SerdeError('out-of-range', `a long must be a safe integer, got ${value}`);
    }
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64BE(BigInt(value));
    return bytes;
  },
  deserialize(bytes) {
    expectLength(bytes, 8, 'a long');
    const value = bytes.readBigInt64BE();
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new SerdeError('out-of-range', `long ${value} is beyond the safe integer range of a JS number`);
    }
    return Number(value);
  },
};

const int32Min = -(2 ** 31);
const int32Max = 2 ** 31 - 1;

/** 4-byte big-endian signed int, byte-compatible with Kafka's IntegerSerializer. */
export const intSerde: SyncSerde<number> = {
  serialize(value) {
    if (!Number.isInteger(value) || value < int32Min || value > int32Max) {
      throw new SerdeError('out-of-range', `an int must be an integer in [${int32Min}, ${int32Max}], got ${value}`);
    }
    const bytes = Buffer.alloc(4);
    bytes.writeInt32BE(value);
    return bytes;
  },
  deserialize(bytes) {
    expectLength(bytes, 4, 'an int');
    return bytes.readInt32BE();
  },
};

function expectLength(bytes: Buffer, length: number, what: string): void {
  if (bytes.length !== length) {
    throw new SerdeError('wrong-length', `${what} must be exactly ${length} bytes, got ${bytes.length}`);
  }
}
