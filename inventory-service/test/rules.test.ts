import { describe, expect, it } from 'vitest';
import { releaseStock, reserveStock } from '../src/rules.ts';

describe('reserveStock', () => {
  it('reserves while stock minus reservations covers the quantity', () => {
    expect(reserveStock(75, 0, 3)).toEqual({ result: 'PASS', reserved: 3 });
    expect(reserveStock(1, 0, 1)).toEqual({ result: 'PASS', reserved: 1 });
    expect(reserveStock(1, 1, 1)).toEqual({ result: 'FAIL', reserved: 1 });
    expect(reserveStock(10, 7, 3)).toEqual({ result: 'PASS', reserved: 10 });
  });

  it('treats a product without a stock row as stock 0', () => {
    expect(reserveStock(undefined, 0, 1)).toEqual({ result: 'FAIL', reserved: 0 });
  });

  it('fails quantities that are not positive without touching reservations', () => {
    expect(reserveStock(100, 5, 0)).toEqual({ result: 'FAIL', reserved: 5 });
    expect(reserveStock(100, 5, -1)).toEqual({ result: 'FAIL', reserved: 5 });
  });

  it('releases a reservation, never below zero', () => {
    expect(releaseStock(10, 3)).toBe(7);
    expect(releaseStock(2, 3)).toBe(0);
  });
});
