import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, rm, rename, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InfraError } from './errors.ts';
import { localPaths } from './paths.ts';

const run = promisify(execFile);
const dependencyPlugin = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

export async function ensureMaven(): Promise<void> {
  try {
    await run('mvn', ['--version'], { timeout: 60_000 });
  } catch {
    throw new InfraError(
      'Maven (mvn) was not found on the PATH; it fetches the Kafka, registry and Elasticsearch servers from Maven Central.',
      'Install Maven 3.6+ (Debian/Ubuntu: apt-get install maven; macOS: brew install maven).',
    );
  }
}

/** Bytes of a size as Maven's transfer log prints it ("1.2 MB", "830 kB", "12 B"). */
function bytesOf(amount: string, unit: string): number {
  const scale: Record<string, number> = { B: 1, kB: 1_000, KB: 1_000, MB: 1_000_000, GB: 1_000_000_000 };
  return Number(amount) * (scale[unit] ?? 0);
}

/**
 * Counts the files and bytes of Maven's transfer log ("Downloaded from central: <url> (1.2 MB
 * at 3 MB/s)"), so that a download shows as one progress line rather than a line per file.
 */
export class DownloadProgress {
  files = 0;
  bytes = 0;

  /** Takes a line of Maven's output; true when it was a finished download. */
  add(line: string): boolean {
    if (!/Downloaded from /.test(line)) return false;
    this.files += 1;
    const size = /\((\d+(?:\.\d+)?) (B|kB|KB|MB|GB) at /.exec(line);
    if (size) this.bytes += bytesOf(size[1]!, size[2]!);
    return true;
  }

  describe(what: string, seconds?: number): string {
    if (this.files === 0) return `${what}: nothing to download (in the local Maven repository already)`;
    const amount = `${this.files} file${this.files === 1 ? '' : 's'}, ${(this.bytes / 1_000_000).toFixed(1)} MB`;
    return seconds === undefined ? `${what}: downloading... ${amount}` : `${what}: downloaded ${amount} in ${seconds.toFixed(1)} s`;
  }
}

/**
 * Runs Maven (batch mode) and shows its downloads as one progress line for the whole fetch:
 * redrawn in place on a terminal, printed once when done otherwise. The rest of Maven's output
 * is kept for the error report.
 */
async function maven(args: string[], what: string): Promise<void> {
  await ensureMaven();
  const interactive = Boolean(process.stdout.isTTY);
  const child = spawn('mvn', ['-B', '-Dstyle.color=never', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const transcript: string[] = [];
  const progress = new DownloadProgress();
  const started = Date.now();
  const onText = (chunk: Buffer) => {
    for (const line of chunk.toString().split(/[\r\n]+/)) {
      if (!line.trim()) continue;
      transcript.push(line);
      if (progress.add(line) && interactive) process.stdout.write(`\r  ${progress.describe(what).slice(0, 100).padEnd(100)}`);
    }
  };
  child.stdout.on('data', onText);
  child.stderr.on('data', onText);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (interactive && progress.files > 0) process.stdout.write('\r');
  if (code === 0) {
    console.log(`  ${progress.describe(what, (Date.now() - started) / 1000).padEnd(interactive ? 100 : 0)}`);
    return;
  }
  if (interactive && progress.files > 0) process.stdout.write('\n');
  const errors = transcript.filter((line) => line.includes('ERROR')).slice(0, 8).join('\n');
  throw new InfraError(
    `Maven could not fetch ${what}.`,
    'Check that Maven Central is reachable (or that ~/.m2/settings.xml points at a mirror that has it), then retry.',
    errors || transcript.slice(-15).join('\n'),
  );
}

/** Writes the resolved runtime classpath of a pom (its jars stay in the local Maven repository). */
export async function resolveClasspath(pom: string, outputFile: string, what: string): Promise<string> {
  await mkdir(path.dirname(outputFile), { recursive: true });
  await maven(['-f', pom, `${dependencyPlugin}:build-classpath`, `-Dmdep.outputFile=${outputFile}`, '-Dmdep.includeScope=runtime'], what);
  return outputFile;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Fetches an archive artifact into the local Maven repository (the cache), then unpacks it
 * into `.local/servers/<name>`. A marker file records a complete unpack, so an interrupted
 * first start is redone instead of leaving a half-extracted server behind.
 */
export async function fetchArchive(
  coordinates: { groupId: string; artifactId: string; version: string; type: 'zip' | 'tar.gz'; classifier?: string },
  name: string,
  what: string,
  firstTimeNotice: string,
): Promise<string> {
  const destination = path.join(localPaths.servers, name);
  const marker = path.join(destination, '.unpacked');
  if (await exists(marker)) return destination;
  console.log(firstTimeNotice);

  const artifact = [coordinates.groupId, coordinates.artifactId, coordinates.version, coordinates.type, coordinates.classifier]
    .filter(Boolean)
    .join(':');
  const downloads = path.join(localPaths.downloads, name);
  await rm(downloads, { recursive: true, force: true });
  await mkdir(downloads, { recursive: true });
  await maven([`${dependencyPlugin}:copy`, `-Dartifact=${artifact}`, `-DoutputDirectory=${downloads}`], what);
  const [archive] = await readdir(downloads);
  if (!archive) throw new InfraError(`Maven reported success but left no archive for ${what}.`);

  const unpacking = `${destination}.unpacking`;
  await rm(unpacking, { recursive: true, force: true });
  await mkdir(unpacking, { recursive: true });
  const archivePath = path.join(downloads, archive);
  // The system tools keep file modes (the servers' launch scripts must stay executable).
  if (coordinates.type === 'zip') await run('unzip', ['-q', archivePath, '-d', unpacking]);
  else await run('tar', ['-xzf', archivePath, '-C', unpacking]);
  await rm(downloads, { recursive: true, force: true });

  // A zip usually holds one top-level folder; flatten it so the server lives at `destination`.
  const entries = await readdir(unpacking);
  const single = entries.length === 1 && entries[0] ? path.join(unpacking, entries[0]) : undefined;
  const root = single && (await stat(single)).isDirectory() ? single : unpacking;
  await rm(destination, { recursive: true, force: true });
  await rename(root, destination);
  await rm(unpacking, { recursive: true, force: true });
  await writeFile(marker, `${artifact}\n`);
  return destination;
}
