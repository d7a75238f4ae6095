import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { fraction, nonNegativeInteger, nonNegativeNumber, positiveInteger, positiveNumber, positiveNumberList } from '../src/cli-options.ts';

describe('numeric option parsers', () => {
  it('take plain decimal numbers', () => {
    expect(positiveNumber('2.5')).toBe(2.5);
    expect(positiveNumber(' 30 ')).toBe(30);
    expect(nonNegativeNumber('0')).toBe(0);
    expect(positiveInteger('20')).toBe(20);
    expect(nonNegativeInteger('0')).toBe(0);
    expect(fraction('0.05')).toBe(0.05);
    expect(fraction('1')).toBe(1);
    expect(positiveNumberList('25, 50,100')).toEqual([25, 50, 100]);
    expect(positiveNumberList('')).toEqual([]);
  });

  it('refuse words, blanks, signs and numbers out of range, as commander argument errors', () => {
    const refused: Array<[(text: string) => unknown, string]> = [
      [positiveNumber, 'abc'],
      [positiveNumber, '0'],
      [positiveNumber, '-1'],
      [positiveNumber, ''],
      [positiveNumber, '0x10'],
      [positiveNumber, 'Infinity'],
      [nonNegativeNumber, '-0.5'],
      [positiveInteger, '1.5'],
      [positiveInteger, '0'],
      [positiveInteger, '1e3'],
      [nonNegativeInteger, '-3'],
      [fraction, '1.5'],
      [fraction, 'half'],
      [positiveNumberList, 'abc'],
      [positiveNumberList, '25,,50'],
      [positiveNumberList, '25,-50'],
    ];
    for (const [parse, text] of refused) expect(() => parse(text), `${parse.name}(${JSON.stringify(text)})`).toThrow(InvalidArgumentError);
  });
});
