/**
 * The package as a stranger gets it: `npm pack` of the runtime, the tarball installed into an
 * empty project under the system's temporary folder (outside this repository, so nothing
 * resolves to its sources or its node_modules), a TypeScript program compiled there against the
 * installed declarations only, and run against the test broker: an exactly-once word count, its
 * store and an interactive query (the program is package/word-count-app.ts).
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { WordCountReport } from './package/word-count-app.ts';
import { brokers, deleteTestTopics, unique } from './support/cluster.ts';

const execFileAsync = promisify(execFile);

/** Runs a command; a failure carries what it printed (tsc and npm explain themselves on stdout). */
async function run(command: string, args: string[], options: ExecFileOptions): Promise<{ stdout: string }> {
  try {
    const { stdout } = await execFileAsync(command, args, { ...options, encoding: 'utf8' });
    return { stdout };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}\n${stderr}`, { cause: error });
  }
}
const streamsFolder = fileURLToPath(new URL('..', import.meta.url));
const repositoryRoot = path.resolve(streamsFolder, '..');
/** The repository's compiler, by path: the temporary project installs only what a user would. */
const tsc = path.join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const lines = ['the cat sat', 'the dog sat on the mat', 'a cat and a dog', 'the end'];

/** Every file under `folder`, relative to it. */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)));
}

describe('the packed tarball', () => {
  let project: string | undefined;

  afterAll(async () => {
    if (project) await rm(project, { recursive: true, force: true });
    await deleteTestTopics();
  });

  it('installs into an empty project, compiles against its declarations and counts words exactly once', async () => {
    project = await mkdtemp(path.join(os.tmpdir(), 'kstreams-user-'));
    expect(path.relative(repositoryRoot, project).startsWith('..')).toBe(true);

    // prepack compiles the runtime first, so the tarball never carries a stale build.
    const packed = await run(npm, ['pack', '--json', '--pack-destination', project], { cwd: streamsFolder });
    const [tarball] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const packedFiles = tarball!.files.map((file) => file.path);
    expect(packedFiles.filter((file) => !/^dist\/.+\.(js|d\.ts)$/.test(file)).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json']);

    const typesNode = JSON.parse(await readFile(path.join(repositoryRoot, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as { version: string };
    await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'kstreams-user', private: true, type: 'module' }, null, 2));
    await writeFile(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'], strict: true, outDir: 'dist', rootDir: 'src', skipLibCheck: false },
        include: ['src'],
      }),
    );
    await mkdir(path.join(project, 'src'));
    await copyFile(fileURLToPath(new URL('./package/word-count-app.ts', import.meta.url)), path.join(project, 'src', 'main.ts'));

    // From the npm cache when it has the packages (the repository's own install filled it).
    // skipLibCheck is off, so the package's declarations are checked too; @types/debug is there
    // because @platformatic/kafka's declarations import 'debug' without depending on its types.
    await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', `./${tarball!.filename}`, `@types/node@${typesNode.version}`, '@types/debug'], { cwd: project });
    const installed = path.join(project, 'node_modules', 'kstreams');
    const manifest = JSON.parse(await readFile(path.join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    expect(Object.keys(manifest.scripts ?? {}).filter((name) => /install/.test(name))).toEqual([]);
    expect((await filesUnder(installed)).filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);

    await run(process.execPath, [tsc, '-p', project], { cwd: project });

    const { stdout } = await run(process.execPath, [path.join(project, 'dist', 'main.js')], {
      cwd: project,
      timeout: 90_000,
      env: {
        ...process.env,
        BROKERS: brokers.join(','),
        LINES: JSON.stringify(lines),
        INPUT_TOPIC: unique('tarball-lines'),
        OUTPUT_TOPIC: unique('tarball-counts'),
        APPLICATION_ID: unique('tarball-word-count'),
      },
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as WordCountReport;

    const expected = new Map<string, number>();
    for (const word of lines.flatMap((line) => line.split(' '))) expected.set(word, (expected.get(word) ?? 0) + 1);
    // Exactly once: each word's counts are 1, 2, ... n, with no count repeated or skipped.
    for (const [word, total] of expected) {
      expect(report.outputs.filter(([counted]) => counted === word).map(([, count]) => count), word).toEqual(Array.from({ length: total }, (_, index) => index + 1));
    }
    expect(report.outputs).toHaveLength(lines.flatMap((line) => line.split(' ')).length);
    // The counts were written in transactions: their commit markers sit between them in the topic.
    expect(report.controlRecords).toBeGreaterThan(0);
    expect(report.commits).toBeGreaterThan(0);
    expect(report.query).toEqual({ word: 'the', owner: { status: 'local' }, count: 4 });
  });
});
