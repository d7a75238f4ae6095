import { SerdeError } from './serdes.ts';

/** Confluent wire format: magic byte 0, schema id as a 4-byte big-endian int, then the Avro body. */
export const magicByte = 0;
export const wireHeaderLength = 5;

export interface FramedValue {
  schemaId: number;
  body: Buffer;
}

export function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(wireHeaderLength);
  header.writeUInt8(magicByte, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

export function unframe(bytes: Buffer): FramedValue {
  if (bytes.length < wireHeaderLength) {
    throw new SerdeError('too-short', `a Confluent-framed value needs at least ${wireHeaderLength} bytes, got ${bytes.length}`);
  }
  const firstByte = bytes.readUInt8(0);
  if (firstByte !== magicByte) {
    throw new SerdeError('bad-magic-byte', `expected magic byte ${magicByte}, got ${firstByte}: not a Confluent-framed value`);
  }
  return { schemaId: bytes.readInt32BE(1), body: bytes.subarray(wireHeaderLength) };
}
