// The hot path of two builds side by side, on both backends: hello and a
// 4 KiB file read through a read-only grant, each the P50 of sequential
// executes on a warm sandbox, in child processes of their own, alternating
// before/after round by round so machine noise hits both alike. For changes
// that add checks on the execute path (issue 21: hot-path cost within 5 %).
// Prints a table of medians and ratios and writes bench/hot-before-after.json.
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s $PWD/node_modules . &&
//     npm run build:ts && npx napi build --platform --release --no-js)
//   node bench/hot-before-after.mjs --before /tmp/before [--rounds 5] [--only 'native readfile']
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir, root, summarize } from './lib.mjs';

const GUESTS = join(root, 'test', 'guests');
const CASES = {
  hello: [join(GUESTS, 'wat', 'hello.wasm')],
  readfile: [join(GUESTS, 'c', 'read_file.wasm'), '/data/f.txt'],
};
const COUNTS = { native: { warm: 300, runs: 3000 }, js: { warm: 100, runs: 600 } };

/** One side, one backend, one case, in this (child) process: P50 in µs. */
async function measure(dir, backend, what) {
  const pkg = await import(pathToFileURL(join(dir, 'dist', 'esm', 'index.js')).href);
  const data = mkdtempSync(join(tmpdir(), 'mimobox-hot-'));
  writeFileSync(join(data, 'f.txt'), 'x'.repeat(4096));
  const Sandbox = backend === 'native' ? pkg.WasmSandbox : pkg.JsSandbox;
  const sb = new Sandbox({ fsReadonly: [{ host: data, guest: '/data' }] });
  try {
    const cmd = CASES[what];
    const { warm, runs } = COUNTS[backend];
    for (let i = 0; i < warm; i++) await sb.execute(cmd);
    const lat = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = await sb.execute(cmd);
      lat.push(performance.now() - t);
      if (r.exitCode !== 0) throw new Error(`${what} exited ${r.exitCode}: ${r.stderr}`);
    }
    return summarize(lat).p50 * 1000;
  } finally {
    await sb.destroy();
    rmSync(data, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const [, dir, backend, what] = args;
  console.log(JSON.stringify({ p50: await measure(dir, backend, what) }));
  process.exit(0);
}
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const before = opt('--before');
if (!before) {
  console.error('usage: node bench/hot-before-after.mjs --before <built checkout> [--rounds N]');
  process.exit(2);
}
const sides = { before: resolve(before), after: root };
const rounds = Number(opt('--rounds', '5'));
const only = opt('--only');
const samples = {};
for (let r = 0; r < rounds; r++) {
  for (const backend of ['native', 'js']) {
    for (const what of Object.keys(CASES)) {
      if (only && only !== `${backend} ${what}`) continue;
      for (const side of r % 2 ? ['after', 'before'] : ['before', 'after']) {
        const out = execFileSync(process.execPath, [import.meta.filename, '--child', sides[side], backend, what], {
          encoding: 'utf8',
          env: { ...process.env, CI: '' },
        });
        ((samples[`${backend} ${what}`] ??= { before: [], after: [] })[side]).push(JSON.parse(out.trim().split('\n').pop()).p50);
      }
    }
  }
}
const rows = Object.entries(samples).map(([name, s]) => {
  const b = summarize(s.before).p50;
  const a = summarize(s.after).p50;
  return { name, beforeUs: b, afterUs: a, ratio: a / b, before: s.before, after: s.after };
});
console.log(`hot path, P50 of sequential executes, median of ${rounds} alternating rounds (before: ${sides.before})`);
console.log('| case | before | after | after ÷ before |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.beforeUs.toFixed(1)} µs | ${r.afterUs.toFixed(1)} µs | ${r.ratio.toFixed(3)} |`);
writeFileSync(join(benchDir, 'hot-before-after.json'), `${JSON.stringify({ before: sides.before, rounds, rows }, null, 2)}\n`);
