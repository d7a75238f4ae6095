import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJava, type JavaRuntime } from '../src/java.ts';
import { infraPaths } from '../src/paths.ts';
import { ensureSecrets, formatStorage, type KafkaSecrets } from '../src/servers/kafka-security.ts';

/**
 * What the launcher runs while it prepares a secured broker (keytool, kafka-storage format) is
 * seen by every user of the machine in `ps`: no password may be on those command lines. A JDK
 * folder of wrappers records each command line (and the argument files it names) before
 * running the real tool.
 */
let folder: string;
let log: string;
let java: JavaRuntime;
let secrets: KafkaSecrets;

/** A shell wrapper that logs its arguments, the content and mode of every @file among them, then runs `then`. */
async function recordingWrapper(file: string, then: string): Promise<void> {
  const script = [
    '#!/bin/sh',
    `printf 'ARGS %s\\n' "$*" >> '${log}'`,
    'for argument in "$@"; do',
    '  case "$argument" in @*) file="${argument#@}"; printf \'MODE %s\\n\' "$(stat -c %a "$file")" >> \'' + log + '\'; sed \'s/^/FILE /\' "$file" >> \'' + log + '\';; esac',
    'done',
    then,
    '',
  ].join('\n');
  await writeFile(file, script);
  await chmod(file, 0o755);
}

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'secrets-argv-'));
  log = path.join(folder, 'commands.log');
  const real = await findJava(17, 'keytool');
  const bin = path.join(folder, 'jdk', 'bin');
  await mkdir(bin, { recursive: true });
  await recordingWrapper(path.join(bin, 'keytool'), `exec '${path.join(real.home, 'bin', 'keytool')}' "$@"`);
  // The storage tool itself is not run: its command line is what counts here.
  await recordingWrapper(path.join(bin, 'java'), 'exit 0');
  java = { executable: path.join(bin, 'java'), home: path.join(folder, 'jdk'), majorVersion: real.majorVersion };
  secrets = await ensureSecrets(infraPaths(path.join(folder, 'home')), java);
  // Eight keytool runs, each a JVM start: many seconds on a busy machine.
}, 180_000);

afterAll(() => rm(folder, { recursive: true, force: true }));

const passwordsOf = (made: KafkaSecrets) => [made.storePassword, made.interBroker.password, made.client.password];
const commandLines = async () => (await readFile(log, 'utf8')).split('\n').filter((line) => line.startsWith('ARGS '));

describe('preparing a secured broker', () => {
  it('gives keytool the stores\' password through its environment, not its command line', async () => {
    const keytool = await commandLines();
    expect(keytool.length).toBeGreaterThanOrEqual(8);
    for (const line of keytool) for (const password of passwordsOf(secrets)) expect(line).not.toContain(password);
    // The stores were made with that password all the same.
    expect((await readFile(secrets.keystore)).length).toBeGreaterThan(0);
  });

  it("formats the storage with the client's SCRAM credentials in an owner-only argument file, deleted afterwards", async () => {
    await writeFile(log, '');
    await formatStorage({ java, jvmOptions: ['-cp', '/classpath'], clusterId: 'cluster-id', properties: '/server.properties', secrets });
    const recorded = await readFile(log, 'utf8');
    const [line = ''] = await commandLines();
    for (const password of passwordsOf(secrets)) expect(line).not.toContain(password);
    const argumentFile = /@(\S+)/.exec(line)?.[1];
    expect(argumentFile).toBeDefined();
    expect(recorded).toContain('MODE 600');
    expect(recorded).toContain(`FILE "SCRAM-SHA-512=[name=${secrets.client.username},password=${secrets.client.password}]"`);
    expect(recorded).toContain('FILE "kafka.tools.StorageTool"');
    await expect(readFile(argumentFile!)).rejects.toThrow(/ENOENT/);
  });
});
