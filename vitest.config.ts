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
  },
});
