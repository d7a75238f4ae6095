import { describe, expect, it } from 'vitest';
import { linearTicks, logTicks, renderPlot } from '../bench/svg.ts';

describe('ticks', () => {
  it('steps 1-2-5 through the decades on a log axis', () => {
    expect(logTicks(10, 1_000)).toEqual([10, 20, 50, 100, 200, 500, 1_000]);
    expect(logTicks(1, 10)).toEqual([1, 2, 5, 10]);
  });

  it('uses about five round steps from zero on a linear axis', () => {
    expect(linearTicks(430)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(linearTicks(90)).toEqual([0, 20, 40, 60, 80, 100]);
  });
});

describe('renderPlot', () => {
  const plot = renderPlot({
    title: 'latency <against> rate',
    xLabel: 'final states per second',
    yLabel: 'ms',
    series: [
      { name: 'p50', color: '#111111', points: [{ x: 25, y: 80, label: '25/s' }, { x: 100, y: 150 }, { x: 180, y: Number.NaN }] },
      { name: 'p99', color: '#222222', points: [{ x: 25, y: 300 }, { x: 100, y: 2_000 }] },
    ],
  });

  it('is one SVG document with an escaped title and a legend entry per series', () => {
    expect(plot.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(plot.trimEnd().endsWith('</svg>')).toBe(true);
    expect(plot).toContain('latency &#60;against&#62; rate');
    expect(plot).toContain('>p50</text>');
    expect(plot).toContain('>p99</text>');
  });

  it('draws a point per finite value, leaving out what was not measured', () => {
    expect(plot.match(/<circle /g)).toHaveLength(4);
    const line = /<polyline fill="none" stroke="#111111" stroke-width="2" points="([^"]+)"/.exec(plot)?.[1];
    expect(line?.split(' ')).toHaveLength(2);
  });

  it('puts higher latency higher up on the page', () => {
    const ys = [...plot.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)" r="3.5" fill="#222222"/g)].map((match) => Number(match[1]));
    expect(ys).toHaveLength(2);
    expect(ys[1]!).toBeLessThan(ys[0]!);
  });
});
