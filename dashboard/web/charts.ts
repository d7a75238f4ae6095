import type { SecondCounts } from '../src/snapshot.ts';

/**
 * Two small SVG charts of the last minute, one bar or point per second. Drawn from scratch
 * on each snapshot: 60 seconds of data is a few hundred elements, well within what a
 * browser redraws in a frame.
 */

const svgNamespace = 'http://www.w3.org/2000/svg';
const margin = { left: 44, right: 8, top: 10, bottom: 22 };

function svgElement(name: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(svgNamespace, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A round axis maximum at or above `value`: 1, 2, 5, 10, 20, 50... */
export function niceMaximum(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((candidate) => candidate * magnitude >= value) ?? 10;
  return step * magnitude;
}

interface Frame {
  width: number;
  height: number;
  plotWidth: number;
  plotHeight: number;
  x: (index: number) => number;
  y: (value: number) => number;
}

/** Axis labels short enough for the margin: 10000 ms as 10 s. */
export function formatMilliseconds(value: number): string {
  return value >= 1_000 ? `${value / 1_000} s` : `${value} ms`;
}

function drawFrame(svg: SVGSVGElement, count: number, maximum: number, label: (value: number) => string): Frame {
  const [, , width = 600, height = 160] = svg.getAttribute('viewBox')!.split(' ').map(Number);
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const frame: Frame = {
    width,
    height,
    plotWidth,
    plotHeight,
    x: (index) => margin.left + (index / count) * plotWidth,
    y: (value) => margin.top + plotHeight - (Math.min(value, maximum) / maximum) * plotHeight,
  };
  svg.replaceChildren();
  for (const fraction of [0, 0.5, 1]) {
    const y = frame.y(maximum * fraction);
    svg.append(svgElement('line', { x1: margin.left, x2: width - margin.right, y1: y, y2: y, class: 'grid' }));
    svg.append(svgElement('text', { x: margin.left - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, fraction === 0 ? '0' : label(maximum * fraction)));
  }
  svg.append(svgElement('text', { x: margin.left, y: height - 6, class: 'axis' }, `${count} s ago`));
  svg.append(svgElement('text', { x: width - margin.right, y: height - 6, class: 'axis', 'text-anchor': 'end' }, 'now'));
  return frame;
}

/** Validated and failed orders stacked per second, and the orders posted as a line. */
export function drawRateChart(svg: SVGSVGElement, seconds: readonly SecondCounts[]): void {
  const maximum = niceMaximum(Math.max(...seconds.map((second) => Math.max(second.validated + second.failed, second.created))));
  const frame = drawFrame(svg, seconds.length, maximum, (value) => `${value}/s`);
  const barWidth = Math.max(1, frame.plotWidth / seconds.length - 1);
  seconds.forEach((second, index) => {
    const x = frame.x(index);
    const validatedTop = frame.y(second.validated);
    if (second.validated > 0) svg.append(svgElement('rect', { x, y: validatedTop, width: barWidth, height: frame.y(0) - validatedTop, class: 'validated' }));
    const failedTop = frame.y(second.validated + second.failed);
    if (second.failed > 0) svg.append(svgElement('rect', { x, y: failedTop, width: barWidth, height: validatedTop - failedTop, class: 'failed' }));
  });
  const points = seconds.map((second, index) => `${frame.x(index) + barWidth / 2},${frame.y(second.created)}`).join(' ');
  svg.append(svgElement('polyline', { points, class: 'created' }));
}

/** p50 and p99 of the orders that reached their final state in each second (gaps where none did). */
export function drawLatencyChart(svg: SVGSVGElement, seconds: readonly SecondCounts[]): void {
  const maximum = niceMaximum(Math.max(0, ...seconds.map((second) => second.p99Ms ?? 0)));
  const frame = drawFrame(svg, seconds.length, maximum, formatMilliseconds);
  const step = frame.plotWidth / seconds.length;
  for (const [key, className] of [['p99Ms', 'p99'], ['p50Ms', 'p50']] as const) {
    seconds.forEach((second, index) => {
      const value = second[key];
      if (value === null) return;
      svg.append(svgElement('circle', { cx: frame.x(index) + step / 2, cy: frame.y(value), r: 2.5, class: className }));
    });
    // A line through consecutive seconds that had orders, broken where one had none.
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) svg.append(svgElement('polyline', { points: run.join(' '), class: className }));
      run = [];
    };
    seconds.forEach((second, index) => {
      const value = second[key];
      if (value === null) flush();
      else run.push(`${frame.x(index) + step / 2},${frame.y(value)}`);
    });
    flush();
  }
}
