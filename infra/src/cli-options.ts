import { InvalidArgumentError } from 'commander';

/**
 * Parsers for the numeric options of the project's command lines, for commander's
 * `.argParser()`. A value they refuse becomes commander's one-line error naming the option,
 * e.g. `error: option '--rate <perSecond>' argument 'abc' is invalid. expected a positive
 * number`, and exit code 1: no stack trace, and never a silently ignored NaN.
 */

/** The text must be a plain decimal number: `Number()` alone would take '', ' ', '0x10' and '1e3'. */
function decimal(text: string): number {
  const trimmed = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(trimmed)) return Number.NaN;
  return Number(trimmed);
}

export function positiveNumber(text: string): number {
  const value = decimal(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('expected a positive number.');
  return value;
}

export function nonNegativeNumber(text: string): number {
  const value = decimal(text);
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError('expected a number, 0 or more.');
  return value;
}

export function positiveInteger(text: string): number {
  const value = decimal(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidArgumentError('expected a whole number, 1 or more.');
  return value;
}

export function nonNegativeInteger(text: string): number {
  const value = decimal(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError('expected a whole number, 0 or more.');
  return value;
}

/** A share of a whole: a number from 0 to 1. */
export function fraction(text: string): number {
  const value = decimal(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new InvalidArgumentError('expected a share from 0 to 1, e.g. 0.05.');
  return value;
}

/** A comma-separated list of positive numbers; an empty text is an empty list. */
export function positiveNumberList(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length === 1 && parts[0] === '') return [];
  const values = parts.map(decimal);
  if (values.some((value) => !Number.isFinite(value) || value <= 0)) throw new InvalidArgumentError('expected positive numbers separated by commas, e.g. 25,50,100.');
  return values;
}
