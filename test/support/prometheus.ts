/**
 * A strict parser of Prometheus' text exposition format (version 0.0.4), for tests that scrape
 * `GET /metrics`. No maintained library parses it (prom-client only writes it; the one npm
 * parser merges the series of a labelled histogram into one), so this one checks what a
 * Prometheus server would reject: every sample belongs to a family declared by `# TYPE`, names
 * and labels are well formed, no series appears twice, and a histogram's buckets are cumulative
 * and end with `+Inf` equal to `_count`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: a histogram's are `<family>_bucket`, `<family>_sum` and `<family>_count`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const suffixes: Record<MetricType, string[]> = { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

export class MetricsParseError extends Error {
  constructor(lineNumber: number, line: string, reason: string) {
    super(`line ${lineNumber}: ${reason}: ${line.slice(0, 200)}`);
    this.name = 'MetricsParseError';
  }
}

/** Parses a whole exposition; throws MetricsParseError on the first thing that is not well formed. */
export function parseMetrics(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const fail = (reason: string): never => {
      throw new MetricsParseError(index + 1, line, reason);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const [, keyword, name, ...rest] = line.split(' ');
      if (keyword !== 'HELP' && keyword !== 'TYPE') return; // a comment
      if (!name || !metricName.test(name)) fail('bad metric name');
      const family = families.get(name!) ?? { name: name!, type: 'untyped' as MetricType, help: '', samples: [] };
      if (keyword === 'TYPE') {
        if (families.get(name!)?.samples.length) fail('TYPE after samples');
        if (rest.length !== 1 || !types.has(rest[0]!)) fail('bad type');
        family.type = rest[0] as MetricType;
      } else {
        family.help = rest.join(' ');
      }
      families.set(name!, family);
      return;
    }
    const sample = parseSample(line, fail);
    const family = [...families.values()].find((candidate) => suffixes[candidate.type].some((suffix) => candidate.name + suffix === sample.name));
    if (!family) fail(`sample of no declared family`);
    const key = `${sample.name}{${Object.entries(sample.labels).sort().map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(',')}}`;
    if (seen.has(key)) fail('duplicate series');
    seen.add(key);
    if (family!.type === 'histogram' && sample.name.endsWith('_bucket') && sample.labels.le === undefined) fail('bucket without le');
    family!.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function parseSample(line: string, fail: (reason: string) => never): Sample {
  let at = 0;
  while (at < line.length && /[a-zA-Z0-9_:]/.test(line[at]!)) at += 1;
  const name = line.slice(0, at);
  if (!metricName.test(name)) fail('bad sample name');
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at += 1;
    while (line[at] !== '}') {
      const equals = line.indexOf('=', at);
      if (equals < 0) fail('bad label');
      const label = line.slice(at, equals);
      if (!labelName.test(label)) fail(`bad label name ${JSON.stringify(label)}`);
      if (label in labels) fail(`label ${label} twice`);
      if (line[equals + 1] !== '"') fail('label value not quoted');
      let value = '';
      at = equals + 2;
      for (;;) {
        const char = line[at];
        if (char === undefined) fail('unterminated label value');
        if (char === '"') break;
        if (char === '\\') {
          const escaped = line[at + 1];
          if (escaped === '\\' || escaped === '"') value += escaped;
          else if (escaped === 'n') value += '\n';
          else fail('bad escape in label value');
          at += 2;
        } else {
          value += char;
          at += 1;
        }
      }
      labels[label] = value;
      at += 1;
      if (line[at] === ',') at += 1;
      else if (line[at] !== '}') fail('expected , or } after a label');
    }
    at += 1;
  }
  const [value, timestamp, ...extra] = line.slice(at).trim().split(/\s+/);
  if (line[at] !== ' ' || value === undefined || extra.length > 0 || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) fail('expected a value and an optional timestamp');
  return { name, labels, value: parseValue(value!, fail) };
}

function parseValue(text: string, fail: (reason: string) => never): number {
  // As Prometheus reads them (Go's ParseFloat): Inf and NaN in any case (prom-client writes Nan).
  if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(`bad value ${text}`);
  return Number(text);
}

/** Each series of a histogram: cumulative buckets, the last one +Inf and equal to _count. */
function checkHistogram(family: MetricFamily): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith('_bucket')) entry.buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value]);
    else if (sample.name.endsWith('_count')) entry.count = sample.value;
  }
  for (const [key, { buckets, count }] of series) {
    buckets.sort(([a], [b]) => a - b);
    const problem = (reason: string) => new Error(`histogram ${family.name} ${key}: ${reason}`);
    if (buckets.at(-1)?.[0] !== Infinity) throw problem('no +Inf bucket');
    if (buckets.some(([, value], index) => index > 0 && value < buckets[index - 1]![1])) throw problem('buckets not cumulative');
    if (count !== buckets.at(-1)![1]) throw problem('_count differs from the +Inf bucket');
  }
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function sumOf(families: ReadonlyMap<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value)) total += sample.value;
    }
  }
  return total;
}

/** The samples named `name`, e.g. to read their labels. */
export function samplesOf(families: ReadonlyMap<string, MetricFamily>, name: string): Sample[] {
  return [...families.values()].flatMap((family) => family.samples.filter((sample) => sample.name === name));
}

/** GET <url>/metrics, checked for the content type and parsed. */
export async function scrape(baseUrl: string): Promise<Map<string, MetricFamily>> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`${baseUrl}/metrics answered ${response.status}`);
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/plain') || !contentType.includes('version=0.0.4')) throw new Error(`${baseUrl}/metrics has content type ${contentType}`);
  return parseMetrics(await response.text());
}
