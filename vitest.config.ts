import { defineConfig } from 'vitest/config';

// End-to-end suites boot a real server on a fresh database per file; two cores → two workers.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // A hang detector, not a speed check: several suites spawn CLIs and restart servers (each a
    // cold Node + database start), which on a loaded 2-core CI box can take well over 30 s.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
