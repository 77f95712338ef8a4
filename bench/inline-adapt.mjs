// The inline start against `inline: false`, side by side in one process:
// hello world at 1, 2 and 8 in flight, the two sandboxes alternating window
// by window, so machine noise hits both alike (issue 13, goal 3). Prints a
// table of medians and writes bench/inline-adapt.json.
//   node bench/inline-adapt.mjs [--quick]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, importPackage } from './lib.mjs';

const quick = process.argv.includes('--quick');
const WINDOW_MS = quick ? 300 : 1500;
const ROUNDS = quick ? 3 : 7;
const HELLO = join(benchDir, '..', 'test', 'guests', 'wat', 'hello.wasm');

const pkg = await importPackage({ build: false });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Completions per second with `inflight` callers looping for the window. */
async function rate(sandbox, inflight) {
  let done = 0;
  const end = performance.now() + WINDOW_MS;
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (performance.now() < end) {
      const r = await sandbox.execute([HELLO]);
      if (r.exitCode !== 0) throw new Error(`hello exited ${r.exitCode}: ${r.error}`);
      done++;
    }
  }));
  return (done / WINDOW_MS) * 1000;
}

const inline = new pkg.WasmSandbox({ maxConcurrency: 8 });
const worker = new pkg.WasmSandbox({ maxConcurrency: 8, inline: false });
const rows = [];
try {
  for (const inflight of [1, 2, 8]) {
    const a = []; const b = [];
    for (let round = 0; round < ROUNDS; round++) {
      a.push(await rate(inline, inflight));
      b.push(await rate(worker, inflight));
    }
    const row = { inflight, defaultPerSec: median(a), inlineFalsePerSec: median(b), ratio: median(a) / median(b), samples: { default: a, inlineFalse: b } };
    rows.push(row);
    process.stderr.write(`  ${inflight} in flight: default ${row.defaultPerSec.toFixed(0)}/s, inline: false ${row.inlineFalsePerSec.toFixed(0)}/s\n`);
  }
} finally {
  await Promise.all([inline.destroy(), worker.destroy()]);
}
console.log('| in flight | default (executes/s) | inline: false | default ÷ better of the two |');
console.log('|---|---|---|---|');
for (const r of rows) {
  const better = Math.max(r.defaultPerSec, r.inlineFalsePerSec);
  console.log(`| ${r.inflight} | ${r.defaultPerSec.toFixed(0)} | ${r.inlineFalsePerSec.toFixed(0)} | ${(r.defaultPerSec / better).toFixed(2)}× |`);
}
writeFileSync(join(benchDir, 'inline-adapt.json'), `${JSON.stringify({ at: new Date().toISOString(), windowMs: WINDOW_MS, rounds: ROUNDS, rows }, null, 2)}\n`);
