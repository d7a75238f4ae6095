import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Chromium (the `chromium` package); CHROMIUM_PATH points elsewhere. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags a headless Chromium needs in a container or CI machine without a display or GPU. */
export const chromiumArgs = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'];

/**
 * Installs Debian's Chromium when it is missing (CI starts from a fresh Debian machine, and
 * the tests run as root there). Fails with the reason and the fix rather than skipping the
 * browser tests.
 */
export function ensureChromium(): string {
  if (existsSync(chromiumPath)) return chromiumPath;
  const install = spawnSync('sh', ['-c', 'apt-get update && apt-get install -y chromium'], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 15 * 60_000,
  });
  if (install.status !== 0 || !existsSync(chromiumPath)) {
    const output = `${install.stdout ?? ''}${install.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    const failure = install.status === 0 ? `apt-get installed chromium, but ${chromiumPath} is still missing` : `installing it failed (${install.error?.message ?? `exit ${install.status}`})`;
    throw new Error(
      `The browser tests drive Debian's Chromium at ${chromiumPath}. It is not installed, and ${failure}:\n${output}\n` +
        `fix: as root, run 'apt-get update && apt-get install -y chromium', or set CHROMIUM_PATH to a Chromium binary`,
    );
  }
  return chromiumPath;
}
