// The health probes the hostile suites rely on measure what they say, on
// every OS that runs them: an fd check that always read 0 would pass anything.
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CAN_COUNT_FDS, fdCount, rssMb } from './health.js';

describe('health probes', () => {
  test('descriptors are countable on Linux and macOS', () => {
    if (process.platform === 'linux' || process.platform === 'darwin') expect(CAN_COUNT_FDS).toBe(true);
    else expect(() => fdCount()).toThrow(/no per-process descriptor listing/);
  });

  test.skipIf(!CAN_COUNT_FDS)('fdCount() follows opens and closes', () => {
    const before = fdCount();
    const self = fileURLToPath(import.meta.url);
    const fds = Array.from({ length: 5 }, () => openSync(self, 'r'));
    expect(fdCount()).toBe(before + 5);
    for (const fd of fds) closeSync(fd);
    expect(fdCount()).toBe(before);
  });

  test('rssMb() grows when 64 MiB are touched', () => {
    const before = rssMb();
    const big = Buffer.alloc(64 * 1024 * 1024, 1);
    expect(rssMb() - before).toBeGreaterThan(32);
    expect(big[big.length - 1]).toBe(1);
  });
});
