import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30000,
    pool: 'forks',
    // Compiles the CPython binaries once per run (test/python).
    globalSetup: ['test/python/global-setup.ts'],
  },
});
