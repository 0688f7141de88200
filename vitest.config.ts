import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@cloister/source'] },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
