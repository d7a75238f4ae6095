import { describe, expect, it } from 'vitest';
import { lagOf } from '../src/lag.ts';

describe('consumer lag', () => {
  const ends = new Map([
    ['orders', [{ partition: 0, high: '10', low: '0' }, { partition: 1, high: '7', low: '2' }]],
    ['repartition', [{ partition: 0, high: '4', low: '0' }]],
  ]);

  it('adds up the distance from each committed offset to the end of its partition', () => {
    const committed = [
      { topic: 'orders', partitions: [{ partition: 0, offset: '8' }, { partition: 1, offset: '7' }] },
      { topic: 'repartition', partitions: [{ partition: 0, offset: '1' }] },
    ];
    expect(lagOf(committed, ends)).toBe(2 + 0 + 3);
  });

  it('counts an uncommitted partition from the start of its log', () => {
    expect(lagOf([{ topic: 'orders', partitions: [{ partition: 0, offset: '10' }, { partition: 1, offset: '-1' }] }], ends)).toBe(5);
  });

  it('is null for a group that has committed nothing, and ignores topics that are gone', () => {
    expect(lagOf([], ends)).toBeNull();
    expect(lagOf([{ topic: 'orders', partitions: [{ partition: 0, offset: '-1' }] }], ends)).toBeNull();
    expect(lagOf([{ topic: 'deleted', partitions: [{ partition: 0, offset: '3' }] }], ends)).toBeNull();
  });
});
