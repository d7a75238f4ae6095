import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { InfraError } from './errors.ts';

const run = promisify(execFile);

export interface JavaRuntime {
  executable: string;
  home: string;
  majorVersion: number;
}

async function probe(executable: string): Promise<JavaRuntime | undefined> {
  try {
    const { stderr } = await run(executable, ['-XshowSettings:properties', '-version'], { timeout: 20_000 });
    const version = /java\.specification\.version = (\d+)/.exec(stderr)?.[1];
    const home = /java\.home = (.+)/.exec(stderr)?.[1]?.trim();
    if (!version || !home) return undefined;
    return { executable, home, majorVersion: Number(version) };
  } catch {
    return undefined;
  }
}

async function candidates(): Promise<string[]> {
  const found: string[] = [];
  if (process.env.JAVA_HOME) found.push(path.join(process.env.JAVA_HOME, 'bin', 'java'));
  found.push('java');
  // Debian and most Linux distributions install every JDK side by side here.
  const jvmDirectory = '/usr/lib/jvm';
  try {
    for (const entry of await readdir(jvmDirectory)) found.push(path.join(jvmDirectory, entry, 'bin', 'java'));
  } catch {
    // No such directory: only JAVA_HOME and the PATH count.
  }
  return found;
}

let discovered: Promise<JavaRuntime[]> | undefined;

/** Every distinct Java runtime on this machine, JAVA_HOME first, then the PATH, then /usr/lib/jvm. */
export function discoverJavaRuntimes(): Promise<JavaRuntime[]> {
  discovered ??= (async () => {
    const runtimes: JavaRuntime[] = [];
    for (const executable of await candidates()) {
      const runtime = await probe(executable);
      if (runtime && !runtimes.some((known) => known.home === runtime.home)) runtimes.push(runtime);
    }
    return runtimes;
  })();
  return discovered;
}

/**
 * The first runtime (in discovery order) that is at least `minimum`: servers differ
 * (Apicurio Registry 3.3 needs Java 21, Kafka and Elasticsearch run on 17).
 */
export async function findJava(minimum: number, neededBy: string): Promise<JavaRuntime> {
  const runtimes = await discoverJavaRuntimes();
  const suitable = runtimes.find((runtime) => runtime.majorVersion >= minimum);
  if (suitable) return suitable;
  const seen = runtimes.map((runtime) => `${runtime.majorVersion} (${runtime.home})`).join(', ') || 'none';
  throw new InfraError(
    `${neededBy} needs Java ${minimum} or newer; found: ${seen}.`,
    `Install a JDK ${minimum}+ (e.g. Eclipse Temurin ${Math.max(minimum, 21)}) and set JAVA_HOME to it, or put its bin/ on the PATH.`,
  );
}
