// The JS backend's fuel metering cost: the same CPU-bound guests with the
// instrumented module (fuel: N, src-ts/js-backend/instrument/instrument.ts) and the
// plain one (fuel: null), in one process, alternating, median of --runs.
// Prints a Markdown table and writes bench/js-fuel.json.
//   node bench/js-fuel.mjs [--quick] [--runs N]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDir, fmtMs, fmtRatio, importPackage, loadavg, makeGuests, percentile } from './lib.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const runs = Number(argv[argv.indexOf('--runs') + 1]) || (quick ? 3 : 5);
const pkg = await importPackage();
const dataDir = mkdtempSync(join(tmpdir(), 'mimobox-js-fuel-'));
const guests = makeGuests({ quick, dataDir });
const modes = { plain: { fuel: null }, metered: { fuel: 1e15 } };
const rows = [];
try {
  for (const key of ['sha256', 'nbody']) {
    const g = guests[key];
    const samples = { plain: [], metered: [] };
    let fuelConsumed;
    const sandboxes = Object.fromEntries(Object.entries(modes).map(([m, c]) => [m, pkg.createSandbox({ ...c, timeoutMs: 600_000 }, { backend: 'js' })]));
    try {
      for (let i = 0; i <= runs; i++) {
        for (const m of Object.keys(modes)) {
          const t0 = performance.now();
          const r = await sandboxes[m].execute([g.wasm, ...g.args]);
          const ms = performance.now() - t0;
          const bad = r.exitCode === 0 ? g.check(r.stdout.toString(), r.stdoutBytes) : `exit ${r.exitCode}: ${r.error}`;
          if (bad) throw new Error(`${key} (${m}): ${bad}`);
          if (m === 'metered') fuelConsumed = r.fuelConsumed;
          if (i > 0) samples[m].push(ms); // the first round compiles and warms up
        }
      }
    } finally {
      await Promise.all(Object.values(sandboxes).map((s) => s.destroy()));
    }
    const med = (xs) => percentile([...xs].sort((a, b) => a - b), 50);
    rows.push({ guest: key, title: g.title, plainMs: med(samples.plain), meteredMs: med(samples.metered), fuelConsumed, samples });
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`\nJS backend, fuel metering cost (median of ${runs}; load average ${loadavg()})\n`);
console.log('| guest | plain (fuel: null) | metered (fuel: N) | ratio | fuelConsumed |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.title} | ${fmtMs(r.plainMs)} | ${fmtMs(r.meteredMs)} | ${fmtRatio(r.meteredMs / r.plainMs)} | ${r.fuelConsumed} |`);
}
writeFileSync(join(benchDir, 'js-fuel.json'), `${JSON.stringify({ date: new Date().toISOString(), quick, runs, loadavg: loadavg(), rows }, null, 2)}\n`);
