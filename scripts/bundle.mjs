// `npm run build`, after tsc: bundles each program `scripts/run-service` starts into one file
// (<package>/dist/<entry>.bundle.js, with a source map). A process then loads one module instead
// of several hundred (the Kafka client alone has 329): start-up takes about half the time.
// Left outside: native addons, packages that load files next to their own code (wasm, worker
// threads, schemas, SQL files), and vite, which the dashboard loads only to build its page.
import { build } from 'esbuild';

const entries = [
  'orders-service/dist/main.js',
  'inventory-service/dist/main.js',
  'fraud-service/dist/main.js',
  'order-details-service/dist/main.js',
  'validation-aggregator/dist/main.js',
  'order-enrichment/dist/main.js',
  'email-service/dist/main.js',
  'dashboard/dist/main.js',
  'populator/dist/main.js',
  'infra/connectors/dist/customers-source-main.js',
  'infra/connectors/dist/orders-sink-main.js',
];

const external = [
  'classic-level',
  'better-sqlite3',
  '@platformatic/wasm-utils',
  'pino',
  'thread-stream',
  'vite',
  '@ecosystem/avro',
  '@ecosystem/infra',
];

await Promise.all(
  entries.map((entry) =>
    build({
      entryPoints: [entry],
      outfile: entry.replace(/\.js$/, '.bundle.js'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      sourcemap: true,
      external,
      logLevel: 'warning',
      // Bundled CommonJS dependencies call require() for Node's own modules.
      banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    }),
  ),
);
