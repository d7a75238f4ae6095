import { readdirSync, statSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { HttpError, Router, type Logger } from '@ecosystem/platform';

const packageRoot = path.resolve(import.meta.dirname, '..');
/** The page's sources: vite's root. */
export const webRoot = path.join(packageRoot, 'web');
/** The built page the service serves (git-ignored; dist/ holds the compiled service). */
export const pageRoot = path.join(packageRoot, 'page');
/** Everything the page is built from: the web folder and the snapshot types it imports. */
const pageSources = [webRoot, path.join(packageRoot, 'src', 'snapshot.ts')];

/** The newest modification time among files and folders (recursively), 0 when none exist. */
export function newestModification(paths: readonly string[]): number {
  let newest = 0;
  for (const entry of paths) {
    let stats;
    try {
      stats = statSync(entry);
    } catch {
      continue;
    }
    newest = Math.max(newest, stats.mtimeMs);
    if (stats.isDirectory()) newest = Math.max(newest, newestModification(readdirSync(entry).map((name) => path.join(entry, name))));
  }
  return newest;
}

/** The build is stale when it is missing or older than any of its sources. */
export function isStale(sourcesModified: number, builtModified: number | undefined): boolean {
  return builtModified === undefined || builtModified < sourcesModified;
}

function builtAt(): number | undefined {
  try {
    return statSync(path.join(pageRoot, 'index.html')).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Builds the page with vite into a fresh folder, then swaps it in, so a running dashboard
 * never serves half a build.
 */
export async function buildPage(logger?: Logger): Promise<void> {
  const started = Date.now();
  // Loaded only when needed: a fresh build starts the service without vite.
  const { build } = await import('vite');
  const staging = `${pageRoot}.building-${process.pid}`;
  await build({ root: webRoot, configFile: false, logLevel: 'warn', build: { outDir: staging, emptyOutDir: true } });
  await rm(pageRoot, { recursive: true, force: true });
  await rename(staging, pageRoot);
  logger?.info({ ms: Date.now() - started, outDir: pageRoot }, 'built the page');
}

/** `npm start` needs no build step: the service builds the page when it is missing or older than its sources. */
export async function ensurePageBuilt(logger: Logger): Promise<void> {
  if (isStale(newestModification(pageSources), builtAt())) await buildPage(logger);
}

/** GET / (the page) and GET /assets/<file> (vite's hashed bundles, cached for good). */
export function pageRoutes(): Router {
  const router = new Router();
  router.get('/', async (ctx) => {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = await readFile(path.join(pageRoot, 'index.html'));
  });
  router.get('/assets/:file', async (ctx) => {
    const file = ctx.params.file ?? '';
    // Names vite gives its bundles; nothing that could leave the folder.
    if (!/^[\w.-]+$/.test(file) || file.startsWith('.')) throw new HttpError(404, 'not found');
    const body = await readFile(path.join(pageRoot, 'assets', file)).catch(() => undefined);
    if (!body) throw new HttpError(404, 'not found');
    ctx.type = path.extname(file);
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.body = body;
  });
  return router;
}
