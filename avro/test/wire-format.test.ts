import { describe, expect, it } from 'vitest';
import { frame, SerdeError, unframe } from '../src/index.ts';

describe('Confluent wire format', () => {
  it('writes magic 0, the schema id big-endian, then the body', () => {
    const framed = frame(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect(framed.toString('hex')).toBe('0001020304aabb');
    expect(unframe(framed)).toEqual({ schemaId: 0x01020304, body: Buffer.from([0xaa, 0xbb]) });
  });

  it('accepts an empty body (a record without fields)', () => {
    expect(unframe(frame(7, Buffer.alloc(0)))).toEqual({ schemaId: 7, body: Buffer.alloc(0) });
  });

  it('rejects a wrong magic byte', () => {
    expect(() => unframe(Buffer.from('0100000001', 'hex'))).toThrow(SerdeError);
    expect(() => unframe(Buffer.from('0100000001', 'hex'))).toThrow('expected magic byte 0, got 1');
  });

  it('rejects fewer than 5 bytes', () => {
    for (const length of [0, 1, 4]) {
      expect(() => unframe(Buffer.alloc(length))).toThrow(expect.objectContaining({ reason: 'too-short' }));
    }
  });
});
