/** A small hand-written SVG line chart: latency (log scale) against throughput. */

export interface PlotSeries {
  name: string;
  color: string;
  points: Array<{ x: number; y: number; label?: string }>;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
}

const width = 720;
const height = 440;
const margin = { left: 70, right: 150, top: 40, bottom: 50 };

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** 1, 2, 5, 10, 20, 50, ... covering [low, high]. */
export function logTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(low)); decade <= high; decade *= 10) {
    for (const step of [1, 2, 5]) if (decade * step >= low && decade * step <= high) ticks.push(decade * step);
  }
  return ticks;
}

/** About five round ticks from 0 to at least `high`. */
export function linearTicks(high: number): number[] {
  const rough = high / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough) ?? rough;
  return Array.from({ length: Math.ceil(high / step) + 1 }, (_, index) => index * step);
}

export function renderPlot({ title, xLabel, yLabel, series }: PlotOptions): string {
  const points = series.flatMap((line) => line.points).filter((point) => Number.isFinite(point.x) && Number.isFinite(point.y) && point.y > 0);
  const xTicks = linearTicks(Math.max(1, ...points.map((point) => point.x)));
  const xMax = xTicks.at(-1)!;
  const yLow = 10 ** Math.floor(Math.log10(Math.min(...points.map((point) => point.y), 10)));
  const yHigh = 10 ** Math.ceil(Math.log10(Math.max(...points.map((point) => point.y), 100)));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const xOf = (x: number) => margin.left + (x / xMax) * plotWidth;
  const yOf = (y: number) => margin.top + plotHeight * (1 - Math.log10(y / yLow) / Math.log10(yHigh / yLow));
  const f = (value: number) => value.toFixed(1);

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (const tick of xTicks) {
    parts.push(`<line x1="${f(xOf(tick))}" y1="${margin.top}" x2="${f(xOf(tick))}" y2="${margin.top + plotHeight}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${f(xOf(tick))}" y="${margin.top + plotHeight + 16}" text-anchor="middle">${tick}</text>`);
  }
  for (const tick of logTicks(yLow, yHigh)) {
    parts.push(`<line x1="${margin.left}" y1="${f(yOf(tick))}" x2="${margin.left + plotWidth}" y2="${f(yOf(tick))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${f(yOf(tick) + 4)}" text-anchor="end">${tick}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#444"/>`);
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  series.forEach((line, index) => {
    const drawn = line.points.filter((point) => Number.isFinite(point.x) && Number.isFinite(point.y) && point.y > 0).sort((left, right) => left.x - right.x);
    parts.push(`<polyline fill="none" stroke="${line.color}" stroke-width="2" points="${drawn.map((point) => `${f(xOf(point.x))},${f(yOf(point.y))}`).join(' ')}"/>`);
    for (const point of drawn) {
      parts.push(`<circle cx="${f(xOf(point.x))}" cy="${f(yOf(point.y))}" r="3.5" fill="${line.color}"/>`);
      if (point.label) parts.push(`<text x="${f(xOf(point.x) + 6)}" y="${f(yOf(point.y) - 6)}" fill="${line.color}" font-size="10">${escapeXml(point.label)}</text>`);
    }
    const legendY = margin.top + 10 + index * 18;
    parts.push(`<line x1="${width - margin.right + 12}" y1="${legendY}" x2="${width - margin.right + 32}" y2="${legendY}" stroke="${line.color}" stroke-width="2"/>`);
    parts.push(`<text x="${width - margin.right + 38}" y="${legendY + 4}">${escapeXml(line.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
