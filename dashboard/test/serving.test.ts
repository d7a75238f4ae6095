import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isStale, newestModification } from '../src/assets.ts';
import { formatEvent } from '../src/events.ts';
import { Poller, PollWhileWatched } from '../src/sources.ts';

describe('the built page', () => {
  const folders: string[] = [];
  afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

  it('is stale when missing or older than its newest source, however deep', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'dashboard-sources-'));
    folders.push(root);
    await mkdir(path.join(root, 'web', 'nested'), { recursive: true });
    await writeFile(path.join(root, 'web', 'index.html'), '<html></html>');
    await writeFile(path.join(root, 'web', 'nested', 'chart.ts'), 'export {};');
    await utimes(path.join(root, 'web', 'index.html'), 1_000, 1_000);
    await utimes(path.join(root, 'web', 'nested', 'chart.ts'), 2_000, 2_000);
    await utimes(path.join(root, 'web', 'nested'), 1_500, 1_500);
    await utimes(path.join(root, 'web'), 1_500, 1_500);
    const newest = newestModification([path.join(root, 'web'), path.join(root, 'missing.ts')]);
    expect(newest).toBe(2_000_000);
    expect(isStale(newest, undefined)).toBe(true);
    expect(isStale(newest, 1_999_000)).toBe(true);
    expect(isStale(newest, 2_000_000)).toBe(false);
  });
});

describe('server-sent events', () => {
  it('carry one JSON document per event on a single data line', () => {
    expect(formatEvent('snapshot', { text: 'two\nlines' })).toBe('event: snapshot\ndata: {"text":"two\\nlines"}\n\n');
  });
});

describe('a polled source', () => {
  it('keeps its last good rows and says why when a poll fails', async () => {
    let answer: () => Promise<number[]> = async () => [1, 2];
    const poller = new Poller(() => answer(), [] as number[]);
    expect(poller.state).toEqual({ rows: [], at: 0 });
    await poller.poll(() => 50);
    expect(poller.state).toEqual({ rows: [1, 2], at: 50 });
    answer = async () => {
      throw new Error('inventory answered 503');
    };
    await poller.poll(() => 60);
    expect(poller.state).toEqual({ rows: [1, 2], at: 50, error: 'inventory answered 503' });
  });
});

describe('polling the sources', () => {
  const watch = (pagesOpen: () => number) => {
    let polls = 0;
    const polling = new PollWhileWatched({ intervalMs: 2_000, pagesOpen, poll: async () => (polls += 1) });
    return { polling, polls: () => polls };
  };

  it('asks nothing of the services while nobody looks', () => {
    const { polling, polls } = watch(() => 0);
    for (let now = 0; now < 60_000; now += 2_000) polling.tick(now);
    expect(polls()).toBe(0);
  });

  it('polls at once when asked after a quiet spell, then while asked lately or a page is open', () => {
    let pages = 0;
    const { polling, polls } = watch(() => pages);
    polling.asked(10_000);
    expect(polls()).toBe(1);
    polling.asked(11_000); // still watched: no extra poll on top of the interval's
    polling.tick(12_000);
    polling.tick(14_000);
    expect(polls()).toBe(3);
    polling.tick(16_000); // two intervals after the last question: quiet again
    expect(polls()).toBe(3);
    pages = 1;
    polling.tick(18_000);
    expect(polls()).toBe(4);
  });
});
