import type { BytesStore } from './bytes-store.ts';

/**
 * Composite LevelDB keys for windowed stores: a length-prefixed key followed by big-endian
 * timestamps, so that all entries of one key are contiguous and ordered by time (a key can
 * never be mistaken for the prefix of a longer one).
 */
export function keyPrefix(key: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(key.length);
  return Buffer.concat([length, key]);
}

export function composite(key: Buffer, ...numbers: Array<{ value: number; bytes: 4 | 8 }>): Buffer {
  const parts = [keyPrefix(key)];
  for (const { value, bytes } of numbers) {
    const part = Buffer.alloc(bytes);
    if (bytes === 8) part.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(value))));
    else part.writeUInt32BE(value >>> 0);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/**
 * The record key part of a composite key given as a latin1 string (the group a windowed
 * store's entries share: all windows or sessions of one key); '' for what is no composite key.
 */
export function recordKeyGroup(id: string): string {
  if (id.length < 4) return '';
  const length = ((id.charCodeAt(0) << 24) >>> 0) + (id.charCodeAt(1) << 16) + (id.charCodeAt(2) << 8) + id.charCodeAt(3);
  return 4 + length <= id.length ? id.slice(0, 4 + length) : '';
}

export function splitComposite(bytes: Buffer): { key: Buffer; rest: Buffer } {
  const length = bytes.readUInt32BE(0);
  return { key: bytes.subarray(4, 4 + length), rest: bytes.subarray(4 + length) };
}

export function readLong(bytes: Buffer, offset: number): number {
  return Number(bytes.readBigUInt64BE(offset));
}

/** The smallest key greater than every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  return Buffer.concat([prefix, Buffer.alloc(17, 0xff)]);
}

export const maxTimestamp = Number.MAX_SAFE_INTEGER;

/**
 * Deletes (with changelog tombstones) the entries whose first timestamp after the key (a
 * window's start, a session's end, a buffered record's time) is before `time`: retention.
 */
export async function deleteEntriesBefore(bytes: BytesStore, time: number): Promise<number> {
  let deleted = 0;
  for await (const [id] of bytes.range()) {
    if (readLong(splitComposite(id).rest, 0) < time) {
      bytes.delete(id);
      deleted += 1;
    }
  }
  return deleted;
}
