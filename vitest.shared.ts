import { defineConfig } from 'vitest/config'

/**
 * Shared vitest settings for every workspace project.
 * `source` makes workspace imports (`@natkit/*`) resolve to TypeScript sources,
 * so unit tests never depend on a stale `dist/`.
 */
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    // read by tools/scripts/test-all.mjs for the per-package summary
    outputFile: { json: '.test-results/vitest.json' }
  }
})
