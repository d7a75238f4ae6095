import { beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * The test setup (test/infrastructure.setup.ts) stops exactly what it started: the servers
 * `up` launched, at the end of the run; none when `up` failed, because a failed `up` has
 * stopped what it launched itself (infra/test/startup.test.ts shows that with real processes).
 */
const calls = vi.hoisted(() => ({ up: vi.fn(), down: vi.fn() }));
vi.mock('@ecosystem/infra', async (original) => ({ ...(await original<typeof import('@ecosystem/infra')>()), up: calls.up, down: calls.down }));
const { default: setup } = await import('../../test/infrastructure.setup.ts');
const { InfraError } = await import('../src/errors.ts');

beforeEach(() => {
  calls.up.mockReset();
  calls.down.mockReset();
  vi.spyOn(console, 'log').mockImplementation(() => {});
});

describe('the test setup', () => {
  it('stops, at the end, the servers it launched and no other', async () => {
    calls.up.mockResolvedValue(['registry', 'elasticsearch']);
    const teardown = await setup();
    expect(calls.down).not.toHaveBeenCalled();
    await teardown();
    expect(calls.down).toHaveBeenCalledWith(['registry', 'elasticsearch'], expect.any(Function));
  });

  it('stops nothing when every server ran already', async () => {
    calls.up.mockResolvedValue([]);
    await (await setup())();
    expect(calls.down).not.toHaveBeenCalled();
  });

  it('fails with the launcher\'s message, cause and fix when the servers cannot start', async () => {
    calls.up.mockRejectedValue(new InfraError('Elasticsearch 8.19.21 did not become healthy within 240 s\ncause (from its log): ERROR boom', 'Read the log tail above', 'the log tail'));
    await expect(setup()).rejects.toThrow(/could not be started:\nElasticsearch 8\.19\.21 did not become healthy within 240 s\ncause \(from its log\): ERROR boom\nfix: Read the log tail above\nthe log tail/);
  });
});
