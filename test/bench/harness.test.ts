// The benchmark harness runs and reports (issue 4: "npm run bench runs on a
// fresh box"). A smoke run of the smallest configuration: it checks that the
// harness works and that every cell verified its guest's output, never how
// fast anything was (benchmarks are not tests).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('bench/run.mjs --quick prints its tables, and no cell is an error', () => {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bench', 'run.mjs'), '--quick', '--only', 'native,js', '--sections', 'latency,throughput', '--guests', 'hello,output', '--no-write'],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('### Hot execute latency');
  expect(r.stdout).toContain('### Throughput');
  expect(r.stdout).toMatch(/\| hello world \(WAT, 185 B\) \| [\d.]+ µs \|/);
  expect(r.stdout).not.toMatch(/\berror\b/i);
}, 150_000);
