import { defineConfig } from 'vitest/config';

/**
 * Two kinds of tests: `unit` needs nothing running; `integration` talks to the real Kafka,
 * schema registry and Elasticsearch, which `test/infrastructure.setup.ts` starts (or finds
 * running) before any of them runs. The infrastructure lifecycle test restarts the servers,
 * so it runs alone, after everything else.
 */
const integrationTimeouts = { testTimeout: 120_000, hookTimeout: 180_000 };

/** Tests run the TypeScript sources of the workspace packages, not their builds (package.json exports). */
const sourceConditions = ['@ecosystem/source'];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['*/test/**/*.test.ts', 'infra/connectors/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.integration.test.ts', '**/*.lifecycle.test.ts'],
          // Some unit tests start a CLI as a process (tsx compiles it first): seconds on a busy machine.
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['*/test/**/*.integration.test.ts', 'infra/connectors/test/**/*.integration.test.ts'],
          globalSetup: ['test/infrastructure.setup.ts'],
          sequence: { groupOrder: 1 },
          ...integrationTimeouts,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/infrastructure.setup.ts'],
          sequence: { groupOrder: 2 },
          ...integrationTimeouts,
        },
      },
      {
        extends: true,
        test: {
          name: 'lifecycle',
          include: ['*/test/**/*.lifecycle.test.ts', 'test/failures/**/*.lifecycle.test.ts'],
          globalSetup: ['test/infrastructure.setup.ts'],
          sequence: { groupOrder: 3 },
          fileParallelism: false,
          ...integrationTimeouts,
        },
      },
      {
        // A private three-broker cluster: after the lifecycle tests, alone.
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/failures/**/*.cluster.test.ts'],
          globalSetup: ['test/infrastructure.setup.ts'],
          sequence: { groupOrder: 4 },
          fileParallelism: false,
          ...integrationTimeouts,
        },
      },
    ],
  },
});
