// Two builds of the package side by side on the native backend, each in
// child processes of its own, alternating round by round so machine noise
// hits both alike: hot hello latency (P50 of sequential executes), hello
// throughput at 8 in flight, and CPU-bound compute (sha256, n-body), each in
// the sandbox's default mode. For a change to the default mode (issue 13,
// goal 1: hot hello P50 within 1.1x of before). Prints a table of medians
// and writes bench/before-after.json.
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s $PWD/node_modules . &&
//     npm run build:ts && npx napi build --platform --release --no-js)
//   node bench/before-after.mjs --before /tmp/before [--rounds 5]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir, root, summarize } from './lib.mjs';

const GUESTS = join(root, 'test', 'guests');
const HELLO = join(GUESTS, 'wat', 'hello.wasm');
const CPU = { sha256: [join(GUESTS, 'c', 'sha256sum.wasm'), '16'], nbody: [join(GUESTS, 'c', 'nbody.wasm'), '1000000'] };
const median = (xs) => summarize(xs).p50;

/** One side's measurements, in this (child) process. */
async function measure(dir) {
  const pkg = await import(pathToFileURL(join(dir, 'dist', 'esm', 'index.js')).href);
  const sb = new pkg.WasmSandbox({ maxConcurrency: 8 });
  try {
    for (let i = 0; i < 300; i++) await sb.execute([HELLO]);
    const lat = [];
    for (let i = 0; i < 3000; i++) {
      const t = performance.now();
      await sb.execute([HELLO]);
      lat.push(performance.now() - t);
    }
    let done = 0;
    const end = performance.now() + 1000;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (performance.now() < end) {
        await sb.execute([HELLO]);
        done++;
      }
    }));
    const cpu = {};
    for (const [name, cmd] of Object.entries(CPU)) {
      await sb.execute(cmd);
      const times = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const r = await sb.execute(cmd);
        if (r.exitCode !== 0) throw new Error(`${name} exited ${r.exitCode}: ${r.error}`);
        times.push(performance.now() - t);
      }
      cpu[name] = median(times);
    }
    return { helloP50Us: median(lat) * 1000, hello8PerSec: done, ...Object.fromEntries(Object.entries(cpu).map(([k, v]) => [`${k}Ms`, v])) };
  } finally {
    await sb.destroy();
  }
}

const args = process.argv.slice(2);
const childDir = args.indexOf('--child');
if (childDir >= 0) {
  const dir = args[childDir + 1];
  process.stdout.write(`${JSON.stringify(await measure(dir))}\n`);
  process.exit(0);
}

const beforeAt = args.indexOf('--before');
if (beforeAt < 0) {
  process.stderr.write('usage: node bench/before-after.mjs --before DIR [--rounds N]\n');
  process.exit(2);
}
const sides = { before: resolve(args[beforeAt + 1]), after: root };
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 5;
const samples = { before: [], after: [] };
for (let round = 0; round < rounds; round++) {
  for (const side of round % 2 ? ['after', 'before'] : ['before', 'after']) {
    const native = join(sides[side], 'mimobox-wasm.linux-x64-gnu.node');
    const out = execFileSync(process.execPath, [join(benchDir, 'before-after.mjs'), '--child', sides[side]], {
      encoding: 'utf8', env: { ...process.env, MIMOBOX_NATIVE_PATH: native }, maxBuffer: 1 << 20,
    });
    samples[side].push(JSON.parse(out.trim().split('\n').pop()));
    process.stderr.write(`bench: round ${round + 1}/${rounds} ${side} done\n`);
  }
}
const keys = Object.keys(samples.after[0]);
const rows = keys.map((k) => {
  const b = median(samples.before.map((s) => s[k]));
  const a = median(samples.after.map((s) => s[k]));
  return { metric: k, before: b, after: a, ratio: a / b };
});
console.log(`| metric (median of ${rounds} rounds) | before | after | after / before |`);
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.metric} | ${r.before.toFixed(1)} | ${r.after.toFixed(1)} | ${r.ratio.toFixed(2)}× |`);
writeFileSync(join(benchDir, 'before-after.json'), `${JSON.stringify({ date: new Date().toISOString(), before: sides.before, rounds, rows, samples }, null, 2)}\n`);
