/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence,
 * so a fuzz run that found a problem can be replayed exactly.
 */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(entries: ReadonlyArray<readonly [number, T]>): T {
    const total = entries.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [weight, value] of entries) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return entries[entries.length - 1]![1];
  }

  bytes(length: number): Buffer {
    const bytes = Buffer.alloc(length);
    for (let index = 0; index < length; index += 1) bytes[index] = this.int(0, 255);
    return bytes;
  }

  /** `length` characters drawn from `alphabet` (an array, so that astral characters count as one). */
  text(length: number, alphabet: readonly string[]): string {
    let text = '';
    for (let index = 0; index < length; index += 1) text += this.pick(alphabet);
    return text;
  }

  /** A seed from the environment variable `name` when set (to replay a run), else a fresh one. */
  static seedFrom(name: string): number {
    const given = process.env[name];
    if (given !== undefined && given !== '') {
      const seed = Number(given);
      if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`${name} must be an integer from 0 to 4294967295, got ${given}`);
      return seed;
    }
    return Prng.randomSeed();
  }

  /** A fresh seed, from 0 to 4294967295. */
  static randomSeed(): number {
    return Math.floor(Math.random() * 0xffff_ffff);
  }
}
