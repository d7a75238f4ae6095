/**
 * The runtime's shape, checked on its sources: it is a package of its own, so it imports only
 * its own files, Node's modules and its declared dependencies; its modules form no import
 * circle (a circle makes every module in it load, and be understood, only together); and no
 * file grows past a size one reader holds in mind (the DSL's builder is the known exception,
 * until it is split).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const sourceFolder = fileURLToPath(new URL('../src', import.meta.url));
const manifest = JSON.parse(await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { dependencies: Record<string, string> };
const maxLines = 420;

interface SourceFile {
  /** Relative to src/, with forward slashes. */
  name: string;
  lines: number;
  imports: string[];
}

async function sourceFiles(): Promise<SourceFile[]> {
  const entries = await readdir(sourceFolder, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts'));
  return Promise.all(
    files.map(async (entry) => {
      const full = path.join(entry.parentPath, entry.name);
      const text = await readFile(full, 'utf8');
      // Static imports, side-effect imports and re-exports (`import type` too: a type-only circle still ties modules together).
      const imports = [...text.matchAll(/^(?:import|export)\s+(?:[^;']*?\sfrom\s+)?'([^']+)'/gms)].map((match) => match[1]!);
      return { name: path.relative(sourceFolder, full).split(path.sep).join('/'), lines: text.split('\n').length, imports };
    }),
  );
}

/** The package an import names (`@scope/name/sub` -> `@scope/name`), or undefined for a relative one. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function resolveRelative(from: string, specifier: string): string {
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
}

/** One circle of imports, if there is any (depth-first search on the import graph). */
function findCircle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      const circle = visit(next);
      if (circle) return circle;
    }
    stack.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const circle = visit(file);
    if (circle) return circle;
  }
  return undefined;
}

describe('the runtime architecture', () => {
  it('imports nothing outside its own sources but Node and its declared dependencies', async () => {
    const allowed = new Set(Object.keys(manifest.dependencies));
    const outside = (await sourceFiles()).flatMap((file) =>
      file.imports
        .filter((specifier) => {
          const name = packageOf(specifier);
          if (name === undefined) return resolveRelative(file.name, specifier).startsWith('../');
          return !specifier.startsWith('node:') && !allowed.has(name);
        })
        .map((specifier) => `${file.name} imports ${specifier}`),
    );
    expect(outside).toEqual([]);
  });

  it('has no import circle', async () => {
    const files = await sourceFiles();
    const graph = new Map(files.map((file) => [file.name, file.imports.filter((specifier) => specifier.startsWith('.')).map((specifier) => resolveRelative(file.name, specifier))]));
    expect(findCircle(graph)).toBeUndefined();
  });

  it(`keeps every file under ${maxLines} lines`, async () => {
    const oversized = (await sourceFiles()).filter((file) => file.lines > maxLines).map((file) => `${file.name}: ${file.lines}`);
    expect(oversized).toEqual([]);
  });

  it('finds a circle and an outside import when there is one (the checks can fail)', () => {
    expect(findCircle(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']]]))).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
    expect(findCircle(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toBeUndefined();
    expect(resolveRelative('engine/task.ts', '../../platform/src/index.ts').startsWith('../')).toBe(true);
    expect(packageOf('@platformatic/kafka/dist/x.js')).toBe('@platformatic/kafka');
  });
});
