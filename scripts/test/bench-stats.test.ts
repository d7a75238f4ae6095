import { describe, expect, it } from 'vitest';
import { percentile, summarize } from '../bench/stats.ts';

describe('percentile', () => {
  it('is the nearest rank: the smallest value with at least that share at or below it', () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 1)).toBe(100);
    expect(percentile([7, 9], 0.5)).toBe(7);
    expect(percentile([7, 9], 0.51)).toBe(9);
  });

  it('is the only value of one, and NaN of none', () => {
    expect(percentile([42], 0.01)).toBe(42);
    expect(percentile([42], 0.99)).toBe(42);
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('summarize', () => {
  it('sorts a copy and reports count, percentiles, max and mean', () => {
    const values = [30, 10, 20, 40];
    expect(summarize(values)).toEqual({ count: 4, p50: 20, p95: 40, p99: 40, max: 40, mean: 25 });
    expect(values).toEqual([30, 10, 20, 40]);
  });

  it('has NaN statistics and a zero count when nothing was measured', () => {
    const empty = summarize([]);
    expect(empty.count).toBe(0);
    expect(empty.p99).toBeNaN();
    expect(empty.mean).toBeNaN();
  });
});
