// Cold start of two builds side by side (issue 13, goal 2): fresh processes of
// each build's own bench/child.mjs ("cold" mode: hello world, on-disk cache
// hit) and of node:wasi, alternating, so that the machine's drift falls on all
// three alike. Prints the medians of the whole and of each part, and writes
// bench/cold-before-after.json. The full bench measures each variant at a
// different time, and its cold rows move by ±20 % between runs here.
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s $PWD/node_modules . &&
//     npm run build:ts && npx napi build --platform --release --no-js)
//   node bench/cold-before-after.mjs --before /tmp/before [--pairs 21]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchDir, root, summarize } from './lib.mjs';

const args = process.argv.slice(2);
const beforeAt = args.indexOf('--before');
if (beforeAt < 0) {
  process.stderr.write('usage: node bench/cold-before-after.mjs --before DIR [--pairs N]\n');
  process.exit(2);
}
const pairsAt = args.indexOf('--pairs');
const pairs = pairsAt >= 0 ? Number(args[pairsAt + 1]) : 21;
const sides = { before: resolve(args[beforeAt + 1]), after: root };
const hello = join(root, 'test', 'guests', 'wat', 'hello.wasm');
const work = mkdtempSync(join(tmpdir(), 'mimobox-cold-ab-'));

/** One fresh process of `dir`'s child.mjs; its JSON line. */
function cold(dir, spec) {
  const native = join(dir, 'mimobox-wasm.linux-x64-gnu.node');
  const out = execFileSync(process.execPath, [join(dir, 'bench', 'child.mjs'), JSON.stringify(spec)], {
    encoding: 'utf8', env: { ...process.env, MIMOBOX_NATIVE_PATH: native }, maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

const spec = (side) => ({ mode: 'cold', backend: 'native', config: { cacheDir: join(work, side) }, wasm: hello, args: [], dataDir: work });
const nodeWasi = { mode: 'cold', backend: 'node-wasi', wasm: hello, args: [], dataDir: work };
const samples = { before: [], after: [], nodeWasi: [] };
try {
  for (const side of ['before', 'after']) cold(sides[side], spec(side)); // fills each side's cache
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 ? ['after', 'before'] : ['before', 'after'];
    for (const side of order) samples[side].push(cold(sides[side], spec(side)));
    samples.nodeWasi.push(cold(root, nodeWasi));
    process.stderr.write(`cold-before-after: ${i + 1}/${pairs}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const median = (xs) => summarize(xs.filter((x) => typeof x === 'number')).p50;
const parts = ['coldMs', 'addonMs', 'createMs', 'firstExecMs', 'importMs'];
const table = Object.fromEntries(parts.map((k) => [k, { before: median(samples.before.map((s) => s[k])), after: median(samples.after.map((s) => s[k])) }]));
const nw = median(samples.nodeWasi.map((s) => s.coldMs));
console.log(`| hello, cache hit (median of ${pairs} fresh processes each) | before | after | after / before |`);
console.log('|---|---|---|---|');
for (const [k, v] of Object.entries(table)) console.log(`| ${k} | ${v.before.toFixed(2)} ms | ${v.after.toFixed(2)} ms | ${(v.after / v.before).toFixed(2)}× |`);
console.log(`| node:wasi cold (compile + instantiate + run) | ${nw.toFixed(2)} ms | | |`);
console.log(`| cold ÷ node:wasi | ${(table.coldMs.before / nw).toFixed(2)}× | ${(table.coldMs.after / nw).toFixed(2)}× | |`);
writeFileSync(join(benchDir, 'cold-before-after.json'), `${JSON.stringify({ date: new Date().toISOString(), before: sides.before, pairs, table, nodeWasiColdMs: nw, samples }, null, 2)}\n`);
