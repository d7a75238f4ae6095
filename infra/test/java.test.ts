import { describe, expect, it } from 'vitest';
import { InfraError } from '../src/errors.ts';
import { discoverJavaRuntimes, findJava } from '../src/java.ts';
import { likelyFix } from '../src/processes.ts';

describe('java discovery', () => {
  it('finds at least one runtime on a machine that can run the servers', async () => {
    const runtimes = await discoverJavaRuntimes();
    expect(runtimes.length).toBeGreaterThan(0);
    expect(runtimes.every((runtime) => runtime.majorVersion >= 8)).toBe(true);
  });

  it('explains which Java is needed when none is new enough', async () => {
    const failure = await findJava(99, 'A future server').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InfraError);
    expect((failure as InfraError).message).toMatch(/^A future server needs Java 99 or newer; found: \d+ \(/);
    expect((failure as InfraError).fix).toMatch(/JAVA_HOME/);
  });
});

describe('startup failure hints', () => {
  it.each([
    ['java.net.BindException: Address already in use', /port is taken/],
    ['UnsupportedClassVersionError: class file version 65.0', /newer Java/],
    ['java.lang.OutOfMemoryError: Java heap space', /out of memory/],
    ['InconsistentClusterIdException: The Cluster ID', /infra -- reset/],
  ])('recognizes %s', (log, fix) => {
    expect(likelyFix(log)).toMatch(fix);
  });

  it('says nothing when it does not recognize the failure', () => {
    expect(likelyFix('some unrelated line')).toBeUndefined();
  });
});
