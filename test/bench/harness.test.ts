// The benchmark harness runs and reports (issue 4: "npm run bench runs on a
// fresh box"). A smoke run of the smallest configuration: it checks that the
// harness works, that every cell verified its guest's output (the SQLite
// shell's included), and that the report draws its SVG charts — never how
// fast anything was (benchmarks are not tests).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'mimobox-bench-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test('bench/run.mjs --quick prints its tables, draws its charts, and no cell is an error', () => {
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bench', 'run.mjs'), '--quick', '--only', 'native,js', '--sections', 'latency,throughput,programs', '--guests', 'hello,output',
      '--out', join(out, 'results.json'), '--charts-dir', join(out, 'charts'),
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 150_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('### Hot execute latency');
  expect(r.stdout).toContain('### Throughput');
  expect(r.stdout).toMatch(/\| hello world \(WAT, 185 B\) \| [\d.]+ µs \|/);
  // The real program ran on both backends and printed the right sum.
  expect(r.stdout).toMatch(/\| SQLite shell, recursive CTE of 100,000 rows \| native \(default: no fuel metering\) \| [\d.]+ m?s \|/);
  expect(r.stdout).toMatch(/\| SQLite shell, recursive CTE of 100,000 rows \| pure-JS backend \| [\d.]+ m?s \|/);
  expect(r.stdout).not.toMatch(/\berror\b/i);
  // One progress line per cell on stderr.
  expect(r.stderr).toMatch(/latency\s+hello\s+native\s+p50/);
  expect(r.stderr).toMatch(/program\s+sqlite/);

  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  expect(Object.keys(results.programs)).toEqual(['sqlite']);
  const charts = readdirSync(join(out, 'charts')).sort();
  expect(charts).toEqual(['latency.svg', 'programs.svg', 'throughput.svg']);
  for (const c of charts) {
    const svg = readFileSync(join(out, 'charts', c), 'utf8');
    expect(svg.startsWith('<svg'), c).toBe(true);
    expect(svg, c).toContain('<path'); // marks were drawn, not an empty frame
  }
}, 180_000);

test('--update-readme targets pages that have their markers, and their chart links resolve', async () => {
  const { README_TARGETS } = await import('../../bench/report/readme.mjs');
  expect(README_TARGETS.map((t: { file: string }) => t.file.slice(ROOT.length).replaceAll('\\', '/'))).toEqual(['bench/README.md', 'docs/benchmarks.md']);
  for (const { file, start, end, chartBase } of README_TARGETS as { file: string; start: string; end: string; chartBase: string }[]) {
    const text = readFileSync(file, 'utf8');
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    expect(i, `${file}: ${start}`).toBeGreaterThanOrEqual(0);
    expect(j, `${file}: ${end}`).toBeGreaterThan(i);
    // chartBase is relative to the page: it must name bench/charts/.
    expect(join(file, '..', chartBase, 'x.svg')).toBe(join(ROOT, 'bench', 'charts', 'x.svg'));
    for (const [, src] of text.slice(i, j).matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)) {
      expect(existsSync(join(file, '..', src)), `${file}: ${src}`).toBe(true);
    }
  }
});
