import { describe, expect, it } from 'vitest';
import { cpuPercent, parseMachineCpu, parseResidentBytes, parseStat } from '../bench/proc.ts';

// A real /proc/<pid>/stat line, with a command name holding a space and a parenthesis.
const stat = '4242 (node (main) x) S 4100 4242 4100 34816 4242 4194304 9021 0 12 0 1234 567 0 0 20 0 11 0 5512 1130000384 28000 18446744073709551615 1 1 0 0 0 0 0 16781312 134235650 0 0 0 17 1 0 0 0 0 0';

describe('parseStat', () => {
  it('counts fields after the last parenthesis of the command name', () => {
    expect(parseStat(stat)).toEqual({ parent: 4100, processGroup: 4242, cpuTicks: 1234 + 567, startTicks: 5512 });
  });

  it('refuses a line it cannot read', () => {
    expect(() => parseStat('garbage')).toThrow(/unreadable/);
  });
});

describe('parseResidentBytes', () => {
  it('reads VmRSS in kB as bytes', () => {
    expect(parseResidentBytes('Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t  102400 kB\nRssAnon:\t 1 kB\n')).toBe(100 * 2 ** 20);
  });

  it('is undefined for a kernel thread, which has no VmRSS', () => {
    expect(parseResidentBytes('Name:\tkthreadd\nState:\tS (sleeping)\n')).toBeUndefined();
  });
});

describe('machine CPU', () => {
  it('counts everything but idle and iowait as busy', () => {
    const text = 'cpu  100 5 50 800 40 0 5 0 0 0\ncpu0 50 2 25 400 20 0 3 0 0 0\nintr 1 2\n';
    expect(parseMachineCpu(text)).toEqual({ busy: 160, total: 1000 });
  });

  it('gives CPU use in percent of one core', () => {
    expect(cpuPercent(150, 1)).toBe(150);
    expect(cpuPercent(50, 2)).toBe(25);
    expect(cpuPercent(10, 0)).toBeNaN();
  });
});
