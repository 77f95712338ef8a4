// A sampling profile of the CPU-bound guests on both engines (issue 13,
// goal 4): where the time goes in mimobox's native backend (the `mimobox`
// CLI, its module mapped from the on-disk cache, so perf names the wasm
// functions from the artefact's symbols) and in node:wasi (V8's code named
// through `--perf-prof` and `perf inject --jit`). Needs Linux `perf` with the
// cpu-clock software event (hardware counters are not needed).
// Writes bench/profile/<guest>.<engine>.txt: the hottest symbols, then the
// hottest function's instructions that took ≥ 0.25 % of its samples.
//   node bench/profile-cpu.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDir, root } from './lib.mjs';

const GUESTS = join(root, 'test', 'guests', 'c');
const CLI = join(root, 'bin', 'mimobox.js');
// Inputs long enough for a few thousand samples at 5 kHz.
const CPU = [['sha256', join(GUESTS, 'sha256sum.wasm'), '48'], ['nbody', join(GUESTS, 'nbody.wasm'), '3000000']];
const outDir = join(benchDir, 'profile');
const work = mkdtempSync(join(tmpdir(), 'mimobox-profile-'));

function perf(args, opts = {}) {
  return execFileSync('perf', args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

if (spawnSync('perf', ['record', '-e', 'cpu-clock', '-o', join(work, 'probe.data'), 'true']).status !== 0) {
  process.stderr.write('profile-cpu: `perf record -e cpu-clock` does not work here (install linux-perf; check kernel.perf_event_paranoid)\n');
  process.exit(2);
}

/** node:wasi running the guest three times, so that V8 tiers it up to TurboFan. */
const nodeWasiScript = join(work, 'node-wasi.cjs');
writeFileSync(nodeWasiScript, `const { WASI } = require('node:wasi');
const [wasm, arg] = process.argv.slice(2);
const mod = new WebAssembly.Module(require('node:fs').readFileSync(wasm));
const devnull = require('node:fs').openSync('/dev/null', 'w');
for (let i = 0; i < 3; i++) {
  const w = new WASI({ version: 'preview1', args: [wasm, arg], env: {}, returnOnExit: true, stdout: devnull });
  w.start(new WebAssembly.Instance(mod, w.getImportObject()));
}
`);

/** The top symbols, and the hottest wasm function's annotated hot instructions. */
function report(data, title, isWasm) {
  const top = perf(['report', '-i', data, '--stdio', '--sort', 'dso,sym', '--percent-limit', '0.5'])
    .split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const shorten = (l) => l.replace(/[0-9a-f]{64}\.cwasm/, '<module>.cwasm').replace(/jitted-\d+-\d+\.so/, 'jitted.so').replace(/\s{2,}/g, '  ').replace(/\s+$/, '');
  const hottest = top.map((l) => /\[\.\]\s+(.*)$/.exec(l)?.[1]?.trim()).find((s) => s && isWasm(s));
  const lines = [`# ${title}`, '', '## Hottest symbols (share of all samples, cpu-clock at 5 kHz)', '', ...top.slice(0, 12).map(shorten), ''];
  if (hottest) {
    const annotated = perf(['annotate', '-i', data, '--stdio', '-s', hottest])
      .split('\n').filter((l) => /^\s+\d+\.\d+ :/.test(l));
    const hot = annotated.filter((l) => Number.parseFloat(l) >= 0.25);
    // Instructions with a stack-slot operand: spills and reloads (register pressure).
    const stack = annotated.filter((l) => /\(%r[sb]p\)/.test(l));
    const stackShare = stack.reduce((sum, l) => sum + Number.parseFloat(l), 0);
    lines.push(`## ${hottest}: ${annotated.length} instructions; ${stack.length} with a stack-slot operand (spill or reload), ${stackShare.toFixed(1)} % of its samples`, '');
    lines.push(`## ${hottest}: instructions with ≥ 0.25 % of its samples (${hot.length} of ${annotated.length} shown)`, '', ...hot.map((l) => l.replace(/\s+$/, '')), '');
  }
  return `${lines.join('\n')}\n`;
}

mkdirSync(outDir, { recursive: true });
const env = { ...process.env, MIMOBOX_CACHE_DIR: join(work, 'cache') };
for (const [name, wasm, arg] of CPU) {
  // Fill the cache first: the profiled run maps the artefact instead of compiling.
  execFileSync(process.execPath, [CLI, 'run', wasm, '--', '0'], { env, stdio: 'ignore' });
  const nativeData = join(work, `${name}.native.data`);
  perf(['record', '-e', 'cpu-clock', '-F', '5000', '-o', nativeData, '--', process.execPath, CLI, 'run', wasm, '--', arg], { env });
  writeFileSync(join(outDir, `${name}.native.txt`), report(nativeData, `${name} (${arg}), mimobox native backend, default settings`, (s) => s.startsWith('wasm[')));

  const v8Data = join(work, `${name}.v8.data`);
  perf(['record', '-k', '1', '-e', 'cpu-clock', '-F', '5000', '-o', v8Data, '--', process.execPath, '--perf-prof', nodeWasiScript, wasm, arg], { cwd: work });
  const injected = join(work, `${name}.v8.jit.data`);
  perf(['inject', '--jit', '-i', v8Data, '-o', injected], { cwd: work });
  writeFileSync(join(outDir, `${name}.node-wasi.txt`), report(injected, `${name} (${arg}, run 3 times in one process), node:wasi on V8 ${process.versions.v8}`, (s) => /wasm-function\[\d+\].*turbofan/.test(s)));
  process.stderr.write(`profile-cpu: ${name} done\n`);
  for (const f of readdirSync(work)) if (/^jit(ted)?-/.test(f)) rmSync(join(work, f), { force: true });
}
rmSync(work, { recursive: true, force: true });
process.stderr.write(`profile-cpu: wrote ${outDir}/{sha256,nbody}.{native,node-wasi}.txt\n`);
