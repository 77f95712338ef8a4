// Where CPU-bound time goes (issue 13, goal 4): sha256 and n-body compute
// time in mimobox's core, in bare wasmtime engines that differ from it in one
// setting each (bench/engine-knobs.rs), and in node:wasi (V8), alternating
// round by round in fresh processes so the machine's noise falls on all alike.
// Compute = the run with the real input minus the run with "0".
// Prints a table of medians and writes bench/engine-knobs.json; `npm run
// bench` runs it as its "engines" section (README targets, "(why)" rows).
//   node bench/engine-knobs.mjs [--rounds 7] [--no-build]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir, root, summarize, fmtMs, fmtRatio } from './lib.mjs';

const GUESTS = join(root, 'test', 'guests', 'c');
const CPU = [['sha256', join(GUESTS, 'sha256sum.wasm'), '16'], ['nbody', join(GUESTS, 'nbody.wasm'), '1000000']];
const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 7;

/** node:wasi compute time of one guest, in this (child) process, after a warm-up. */
function nodeWasiChild(wasm, arg) {
  const { WASI } = process.getBuiltinModule('node:wasi');
  const { openSync } = process.getBuiltinModule('node:fs');
  const devnull = openSync('/dev/null', 'w');
  const mod = new WebAssembly.Module(readFileSync(wasm));
  const run = (a) => {
    const wasi = new WASI({ version: 'preview1', args: [wasm, a], env: {}, returnOnExit: true, stdout: devnull });
    const t = performance.now();
    const code = wasi.start(new WebAssembly.Instance(mod, wasi.getImportObject()));
    if (code !== 0) throw new Error(`node:wasi: ${wasm} exited ${code}`);
    return performance.now() - t;
  };
  run(arg); // V8 tiers the hot functions up to TurboFan here
  return run(arg) - run('0');
}

if (args[0] === '--node-wasi-child') {
  process.stdout.write(`${JSON.stringify(nodeWasiChild(args[1], args[2]))}\n`);
  process.exit(0);
}

/** Builds the example unless `build` is false; returns its path. */
function knobsBinary(build, log) {
  const triple = /^host: (\S+)$/m.exec(execFileSync('rustc', ['-vV'], { encoding: 'utf8' }))[1];
  if (build) {
    log('engine-knobs: cargo build (reuses the test build of wasmtime)');
    execFileSync('cargo', ['build', '--release', '--no-default-features', '--target', triple, '--example', 'engine-knobs'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  return join(targetDir, triple, 'release', 'examples', 'engine-knobs');
}

const OURS = 'mimobox core (default settings)';
const V8 = 'node:wasi (V8)';

/**
 * Runs `rounds` alternating rounds; returns { wasmtime, rounds, table } where
 * table[guest][variant] = { p50, min, vsNodeWasi, vsMimobox, samples } (ms).
 */
export function measureEngineKnobs({ rounds = 7, build = true, log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const binary = knobsBinary(build, log);
  const samples = {}; // guest -> variant -> [ms]
  const push = (g, v, ms) => ((samples[g] ??= {})[v] ??= []).push(ms);
  let version;
  for (let round = 0; round < rounds; round++) {
    const runNodeWasi = () => {
      for (const [name, wasm, arg] of CPU) {
        const out = execFileSync(process.execPath, [join(benchDir, 'engine-knobs.mjs'), '--node-wasi-child', wasm, arg], { encoding: 'utf8' });
        push(name, V8, JSON.parse(out));
      }
    };
    if (round % 2) runNodeWasi();
    const out = JSON.parse(execFileSync(binary, ['1', ...CPU.flatMap(([, w, a]) => [w, a])], { encoding: 'utf8' }));
    version = out.wasmtime;
    out.guests.forEach((g, i) => g.rows.forEach((row) => push(CPU[i][0], row.variant, row.computeMs[0])));
    if (round % 2 === 0) runNodeWasi();
    log(`  engines    round ${round + 1}/${rounds}: ${CPU.map(([n]) => `${n} mimobox ${fmtMs(samples[n][OURS].at(-1))} node:wasi ${fmtMs(samples[n][V8].at(-1))}`).join('; ')}`);
  }
  const table = {};
  for (const [name] of CPU) {
    const base = summarize(samples[name][V8]).p50;
    const ours = summarize(samples[name][OURS]).p50;
    table[name] = Object.fromEntries(Object.entries(samples[name]).map(([v, ms]) => {
      const { p50, min } = summarize(ms);
      return [v, { p50, min, vsNodeWasi: p50 / base, vsMimobox: p50 / ours, samples: ms }];
    }));
  }
  return { wasmtime: version, rounds, table };
}

/** The Markdown table of a measureEngineKnobs result. */
export function engineKnobsTable({ rounds, table }) {
  const variants = Object.keys(table.sha256);
  return [
    `| engine (guest compute time, median of ${rounds} alternating rounds) | sha256 16 MiB | ÷ node:wasi | n-body 1 M steps | ÷ node:wasi |`,
    '|---|---|---|---|---|',
    ...variants.map((v) => `| ${v} | ${fmtMs(table.sha256[v].p50)} | ${fmtRatio(table.sha256[v].vsNodeWasi)} | ${fmtMs(table.nbody[v].p50)} | ${fmtRatio(table.nbody[v].vsNodeWasi)} |`),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = measureEngineKnobs({ rounds, build: !args.includes('--no-build') });
  process.stdout.write(`${engineKnobsTable(result)}\n`);
  writeFileSync(join(benchDir, 'engine-knobs.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...result }, null, 2)}\n`);
}
