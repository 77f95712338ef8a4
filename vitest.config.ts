import { configDefaults, defineConfig } from 'vitest/config';

// Redis ships no Windows build (redis.io, Debian and Homebrew have none; the
// queue's only shared state lives in it), so on Windows the queue suite is
// left out, and says so; everywhere else a missing redis-server fails it.
const NO_REDIS_PLATFORM = process.platform === 'win32';
if (NO_REDIS_PLATFORM) console.warn('vitest: test/queue is left out on Windows: Redis has no Windows build');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: NO_REDIS_PLATFORM ? [...configDefaults.exclude, 'test/queue/**'] : configDefaults.exclude,
    testTimeout: 30000,
    pool: 'forks',
    // Compiles the CPython binaries once per run (test/python).
    globalSetup: ['test/python/global-setup.ts'],
  },
});
