/**
 * The partition of a key, exactly as Kafka's Java producer (and the client's compatibilityPartitioner)
 * computes it: murmur2 of the serialized key, made positive, modulo the partition count.
 * Interactive queries use it to find the instance owning a key.
 */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** Kafka's murmur2 (seed 0x9747b28c), on 32-bit integers. */
export function murmur2(data: Buffer): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const quads = length >> 2;
  for (let i = 0; i < quads; i += 1) {
    const offset = i * 4;
    let k = (data[offset]! & 0xff) | ((data[offset + 1]! & 0xff) << 8) | ((data[offset + 2]! & 0xff) << 16) | ((data[offset + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = quads * 4;
  const remaining = length % 4;
  if (remaining === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (remaining >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (remaining >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
