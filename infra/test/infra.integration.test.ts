import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, describe, expect, it } from 'vitest';
import { status } from '../src/launcher.ts';
import { runInfraCli } from './cli.ts';

const elasticsearchUrl = process.env.ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';
const scratchFolders: string[] = [];

async function scratchHome(): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'infra-test-'));
  scratchFolders.push(folder);
  return folder;
}

afterAll(async () => {
  for (const folder of scratchFolders) await rm(folder, { recursive: true, force: true });
});

describe('local infrastructure', () => {
  it('reports all three servers healthy', async () => {
    const servers = await status();
    expect(servers.map((server) => [server.name, server.state])).toEqual([
      ['kafka', 'healthy'],
      ['registry', 'healthy'],
      ['elasticsearch', 'healthy'],
    ]);
    const cli = await runInfraCli(['status']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/kafka\s+healthy/);
    expect(cli.stdout).toMatch(/elasticsearch\s+healthy/);
  });

  it('indexes a document through the 8.x client and finds it by search', async () => {
    const client = new Client({ node: elasticsearchUrl });
    const index = `infra-test-${Date.now()}`;
    try {
      await client.indices.create({
        index,
        settings: { number_of_replicas: 0 },
        mappings: { properties: { id: { type: 'keyword' }, state: { type: 'keyword' } } },
      });
      await client.index({ index, id: 'order-1', document: { id: 'order-1', state: 'VALIDATED' }, refresh: 'wait_for' });
      const found = await client.search<{ id: string; state: string }>({ index, query: { term: { state: 'VALIDATED' } } });
      expect(found.hits.hits.map((hit) => hit._source)).toEqual([{ id: 'order-1', state: 'VALIDATED' }]);
    } finally {
      await client.indices.delete({ index }, { ignore: [404] });
      await client.close();
    }
  });

  it('refuses to start a server whose port another program holds, in one line with the fix', async () => {
    // A fresh INFRA_HOME has no pid file, so the running broker is "another program" to it.
    const result = await runInfraCli(['up', 'kafka'], { ...process.env, INFRA_HOME: await scratchHome(), KAFKA_BROKERS: '' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: Port 9092, needed by the local Apache Kafka .*, is already in use by another program\.$/m);
    expect(result.stderr).toMatch(/^fix: Stop that program, or use it as the server by setting KAFKA_BROKERS\.$/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names the fix when Maven is missing, without a stack trace', async () => {
    // A PATH holding only node: the launcher must notice that mvn is missing.
    const nodeOnly = await scratchHome();
    await symlink(process.execPath, path.join(nodeOnly, 'node'));
    const result = await runInfraCli(['fetch', 'kafka'], { ...process.env, INFRA_HOME: await scratchHome(), PATH: nodeOnly });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: Maven \(mvn\) was not found on the PATH/m);
    expect(result.stderr).toMatch(/^fix: Install Maven/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('checks an external server instead of starting one when its variable is set', async () => {
    const result = await runInfraCli(['up', 'registry'], {
      ...process.env,
      INFRA_HOME: await scratchHome(),
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
    });
    expect(result.stdout).toMatch(/registry: external at http:\/\/127\.0\.0\.1:8081\/apis\/ccompat\/v7 \(SCHEMA_REGISTRY_URL\), healthy/);
    expect(result.code).toBe(0);
  });
});
