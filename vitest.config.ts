import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript source through the `@cloister/source` export
// condition, so tests never run against a stale `dist/`.
const conditions = ['@cloister/source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@cloister/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // New PGlite databases open a copy of one empty cluster made once per run instead of running
    // initdb each time (scripts/vitest/pglite-template.ts).
    globalSetup: ['scripts/vitest/pglite-template.ts'],
    setupFiles: ['scripts/vitest/pglite-from-template.ts'],
    // Vitest's default is one worker fewer than the cores: a single worker on a 2-core machine,
    // which leaves the second core idle while a file waits on its servers, PostgreSQL or child
    // processes. Two files at a time there; the default on larger machines.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
