import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InfraError } from '../src/errors.ts';
import { infraPaths } from '../src/paths.ts';
import { kafkaNode, kafkaVersion, type KafkaClusterLayout } from '../src/servers/kafka.ts';

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** A one-node layout whose data folder was formatted already, with `formatFile` as the launcher's record of it (none: data from before the record existed). */
async function formattedLayout(formatFile: string | undefined): Promise<KafkaClusterLayout> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'kafka-data-version-'));
  folders.push(home);
  const paths = infraPaths(home);
  await mkdir(paths.data('kafka'), { recursive: true });
  await writeFile(path.join(paths.data('kafka'), 'meta.properties'), 'cluster.id=abcdefghijklmnopqrstuv\nnode.id=1\nversion=1\n');
  if (formatFile !== undefined) await writeFile(path.join(home, 'data', 'kafka-cluster.properties'), formatFile);
  return { paths, nodes: [{ id: 1, brokerPort: 1, controllerPort: 2 }] };
}

describe('Kafka data written by another release', () => {
  it('is refused, with the reset as the fix, when a newer release wrote it (an older broker cannot read its metadata)', async () => {
    for (const formatFile of [undefined, 'cluster.id=abcdefghijklmnopqrstuv\nbrokers=1\n', 'cluster.id=abcdefghijklmnopqrstuv\nbrokers=1\nkafka.version=9.0.0\n']) {
      const refusal = await kafkaNode(await formattedLayout(formatFile), 1).prepare().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(InfraError);
      expect(String((refusal as InfraError).message)).toMatch(new RegExp(`written by Kafka (4\\.3\\.1|9\\.0\\.0); this project now runs Kafka ${kafkaVersion.replaceAll('.', '\\.')}`));
      expect((refusal as InfraError).fix).toMatch(/npm run infra -- reset/);
    }
  });

  it('is used when this or an older release wrote it', async () => {
    for (const formattedBy of ['4.0.0', kafkaVersion]) {
      const layout = await formattedLayout(`cluster.id=abcdefghijklmnopqrstuv\nbrokers=1\nkafka.version=${formattedBy}\n`);
      await expect(kafkaNode(layout, 1).prepare()).resolves.toMatchObject({ args: expect.arrayContaining(['kafka.Kafka']) });
    }
  });
});
