#!/usr/bin/env node
// mimobox-wasm benchmark harness: `npm run bench` (= node bench/run.mjs).
// Runs the same guests through the native backend, the pure-JS backend,
// Node's node:wasi and the wasmtime CLI; prints Markdown tables and writes
// bench/results.json. See bench/README.md for what each row means.
import './quiet.mjs';
import { spawn, spawnSync } from 'node:child_process';
import * as require_fs from 'node:fs';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  benchDir, now, importPackage, makeGuests, makeTempDirs, sandboxConfig, findWasmtime, cliRunner, summarize,
  fmtMs, fmtRatio, fmtRate, loadavg,
} from './lib.mjs';
import { checkedRun } from './measure.mjs';

const HELP = `Usage: node bench/run.mjs [options]      (npm run bench -- [options])

  --quick              smoke run (< 1 min): short windows, fewer samples, smaller inputs
  --only LIST          backends to run, comma-separated: native,js,node-wasi,cli
  --sections LIST      latency,cold,throughput,cpu,rss (default: all)
  --guests LIST        hello,sha256,nbody,output,readfile (default: all)
  --out FILE           where to write the JSON results (default bench/results.json)
  --no-write           do not write any file
  --update-readme      put the tables into bench/README.md and README.md (between their markers)
  --readme-from FILE   only copy the tables of a saved results.json into the READMEs
  -h, --help           this text

The wasmtime CLI rows need a wasmtime binary: bash bench/setup.sh installs one
into bench/.tools (or set WASMTIME=/path/to/wasmtime); without it they are
skipped with a note.`;

// ------------------------------------------------------------------ options

function parseArgs(argv) {
  const o = {
    quick: false, only: null, sections: null, guests: null, out: join(benchDir, 'results.json'), write: true, updateReadme: false,
  };
  const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
  const alias = { nodewasi: 'node-wasi', wasi: 'node-wasi', 'node:wasi': 'node-wasi', wasmtime: 'cli' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '--quick': o.quick = true; break;
      case '--only': o.only = list(val()).map((b) => alias[b] ?? b); break;
      case '--sections': o.sections = list(val()); break;
      case '--guests': o.guests = list(val()); break;
      case '--out': o.out = val(); break;
      case '--no-write': o.write = false; break;
      case '--update-readme': o.updateReadme = true; break;
      case '--readme-from': o.readmeFrom = val(); break;
      case '-h': case '--help': o.help = true; break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  for (const b of o.only ?? []) if (!['native', 'js', 'node-wasi', 'cli'].includes(b)) throw new Error(`--only: unknown backend ${b}`);
  for (const s of o.sections ?? []) if (!['latency', 'cold', 'throughput', 'cpu', 'rss'].includes(s)) throw new Error(`--sections: unknown section ${s}`);
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

/**
 * Puts the tables between the markers of bench/README.md
 * (<!-- bench:results:start/end -->) and of the package README
 * (<!-- BENCH:START/END -->), when those files have them.
 */
function updateReadmes(md, command) {
  const targets = [
    [join(benchDir, 'README.md'), '<!-- bench:results:start -->', '<!-- bench:results:end -->'],
    [join(benchDir, '..', 'README.md'), '<!-- BENCH:START -->', '<!-- BENCH:END -->'],
  ];
  for (const [file, start, end] of targets) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const i = text.indexOf(start); const j = text.indexOf(end);
    if (i < 0 || j <= i) { process.stderr.write(`bench: ${file} has no ${start} ... ${end} markers; not updated\n`); continue; }
    writeFileSync(file, `${text.slice(0, i + start.length)}\n\nCommand: \`${command}\`\n\n${md}\n${text.slice(j)}`);
    process.stderr.write(`bench: updated ${file}\n`);
  }
}

if (opts.readmeFrom) {
  const saved = JSON.parse(readFileSync(opts.readmeFrom, 'utf8'));
  if (typeof saved.markdown !== 'string') {
    process.stderr.write(`bench: ${opts.readmeFrom} has no "markdown" field\n`);
    process.exit(2);
  }
  updateReadmes(saved.markdown, saved.env?.command ?? 'node bench/run.mjs');
  process.exit(0);
}

const Q = opts.quick;
// Sampling budgets (ms). Each cell: warm-up, then samples until the window ends
// (and at least `minSamples`).
const BUDGET = Q
  ? { warmMs: 50, windowMs: 250, cpuWindowMs: 400, minSamples: 3, tputMs: 200, coldSamples: 3, rssRuns: 8 }
  : { warmMs: 300, windowMs: 2000, cpuWindowMs: 3000, minSamples: 8, tputMs: 2000, coldSamples: 15, rssRuns: 24 };
const INFLIGHT = [1, 2, 8];

const want = (b) => !opts.only || opts.only.includes(b);
const section = (s) => !opts.sections || opts.sections.includes(s);
const log = (m) => process.stderr.write(`${m}\n`);

// ------------------------------------------------------------------ setup

const startedAt = new Date();
const loadStart = loadavg();
const dirs = makeTempDirs();
const guests = makeGuests({ quick: Q, dataDir: dirs.dataDir });
const guestKeys = (opts.guests ?? Object.keys(guests)).filter((g) => {
  if (!guests[g]) { log(`bench: unknown guest ${g} (ignored)`); return false; }
  return true;
});
const pkg = await importPackage();
const cfg = (extra) => sandboxConfig(null, { cacheDir: dirs.cacheDir, ...extra });

const notes = [];
let nativeOk = false;
let nativeInfo = null;
if (want('native')) {
  try {
    const sb = pkg.createSandbox(cfg(), { backend: 'native' });
    await sb.destroy();
    nativeOk = true;
    try {
      const binding = (await importPackage({ build: false, entry: 'native.js' })).loadNativeBinding?.();
      nativeInfo = binding?.nativeInfo?.() ?? null;
    } catch { /* informational only */ }
  } catch (e) {
    notes.push(`native backend unavailable, its rows are skipped: ${String(e.message).split('\n')[0]}`);
  }
}
let wasmtime = null;
if (want('cli')) {
  wasmtime = findWasmtime();
  if (!wasmtime) notes.push('wasmtime CLI not found (run `bash bench/setup.sh`, or set WASMTIME=/path/to/wasmtime): its rows are skipped');
}

const env = {
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? null,
  totalMemMiB: Math.round(totalmem() / 1048576),
  wasmtimeCli: wasmtime?.version ?? null,
  native: nativeInfo,
  quick: Q,
  loadavgStart: loadStart,
  ...gitInfo(),
};

/** Which code was measured: the commit, whether the tree had changes, the addon's build time. */
function gitInfo() {
  const git = (...a) => spawnSync('git', a, { cwd: join(benchDir, '..'), encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'src-rs', 'src-ts');
  let addonBuilt = null;
  try {
    const { statSync, readdirSync } = require_fs;
    const node = readdirSync(join(benchDir, '..')).find((f) => f.endsWith('.node'));
    if (node) addonBuilt = statSync(join(benchDir, '..', node)).mtime.toISOString();
  } catch { /* informational only */ }
  return {
    gitCommit: head.status === 0 ? head.stdout.trim() : null,
    sourceChanged: dirty.status === 0 ? dirty.stdout.trim().length > 0 : null,
    addonBuilt,
  };
}
log(`bench: ${Q ? 'quick' : 'full'} run on ${env.cpus} CPUs (${env.cpuModel}), node ${env.node}, loadavg ${loadStart}`);
log(`bench: wasmtime CLI: ${wasmtime ? `${wasmtime.version} (${wasmtime.path})` : 'absent'}`);

// Backends (runner keys of measure.mjs) and the native CPU-bound modes.
const BACKENDS = [];
if (nativeOk) BACKENDS.push('native', 'native-handle', 'native-worker');
if (want('js')) BACKENDS.push('js');
if (want('node-wasi')) BACKENDS.push('node-wasi');
if (wasmtime) BACKENDS.push('cli');
const LABEL = {
  native: 'native, fuel on (default)',
  'native-handle': 'native, load() + handle.run()',
  'native-worker': 'native, inline: false (every execute on a worker thread)',
  'native-epoch': 'native epoch-only (fuel: null)',
  'native-nolimits': 'native epoch-only, 24 h timeout, 4 GiB memory',
  js: 'pure-JS backend',
  'node-wasi': 'node:wasi (in-process, no limits)',
  cli: 'wasmtime CLI (process per run, precompiled, no limits)',
  'cli-epoch': 'wasmtime CLI, epoch interruption (-W timeout=86400s)',
  'cli-fuel': 'wasmtime CLI, fuel (-W fuel=10^15)',
};

// ------------------------------------------------------------------ measurement

const results = { env, notes, latency: {}, cold: {}, throughput: {}, cpu: {}, rss: {}, targets: [] };

/** Runs bench/child.mjs in a fresh node process; resolves with its JSON line. */
function child(spec, { progress = false } = {}) {
  return new Promise((resolve) => {
    const t0 = now();
    const p = spawn(process.execPath, [join(benchDir, 'child.mjs'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', progress ? 'inherit' : 'pipe'] });
    let out = ''; let err = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr?.on('data', (c) => { err += c; });
    p.on('close', (code, signal) => {
      const wallMs = now() - t0;
      const line = out.trim().split('\n').pop();
      try {
        resolve({ ...JSON.parse(line), processWallMs: wallMs });
      } catch {
        resolve({ error: `child failed (${signal ?? `exit ${code}`}): ${(err || out).trim().split('\n').slice(-3).join(' | ')}`, processWallMs: wallMs });
      }
    });
  });
}

const ctx = {
  dataDir: dirs.dataDir, cacheDir: dirs.cacheDir, workDir: dirs.workDir,
  wasmtimePath: wasmtime?.path, wasmtimeVersion: wasmtime?.version,
};

/**
 * The in-process sections, one child process per backend: hot latency of
 * every guest, the CPU-bound modes (interleaved), then throughput.
 */
async function sectionSuites() {
  const cpuGuests = section('cpu') ? guestKeys.filter((g) => guests[g].cpu) : [];
  for (const b of BACKENDS) {
    const tasks = [];
    if (section('latency')) for (const g of guestKeys) tasks.push({ type: 'latency', runner: b, guest: g });
    for (const g of cpuGuests) {
      if (b === 'native-handle' || b === 'native-worker') continue;
      const modes = { native: ['native', 'native-worker', 'native-epoch', 'native-nolimits'], cli: ['cli', 'cli-epoch', 'cli-fuel'] };
      tasks.push({ type: 'cpu', runners: modes[b] ?? [b], guest: g });
    }
    if (section('throughput')) for (const g of guestKeys.filter((k) => k !== 'nbody')) tasks.push({ type: 'throughput', runner: b, guest: g });
    if (tasks.length === 0) continue;
    log(`bench: ${LABEL[b]} (fresh process)`);
    const r = await child({ mode: 'suite', ctx, quick: Q, budget: BUDGET, inflight: INFLIGHT, tasks }, { progress: true });
    if (r.error) {
      notes.push(`${LABEL[b]}: the bench process failed: ${r.error}`);
      log(`  ERROR ${r.error}`);
      continue;
    }
    for (const t of r.results) {
      const res = t.result;
      if (res?.skipped) continue;
      if (t.type === 'latency') {
        (results.latency[t.guest] ??= {})[b] = res;
      } else if (t.type === 'throughput') {
        (results.throughput[t.guest] ??= {})[b] = res;
      } else if (t.type === 'cpu') {
        const row = (results.cpu[t.guest] ??= { args: guests[t.guest].args, smallArgs: guests[t.guest].smallArgs });
        if (res.error) { for (const k of t.runners) row[k] = { label: LABEL[k], big: { error: res.error } }; continue; }
        for (const [k, v] of Object.entries(res)) {
          row[k] = { label: LABEL[k], big: v.big, small: v.small, computeMs: v.big.p50 - v.small.p50 };
        }
      }
    }
  }
  // Keep the CPU table in a fixed order.
  const order = ['native', 'native-worker', 'native-epoch', 'native-nolimits', 'js', 'node-wasi', 'cli', 'cli-epoch', 'cli-fuel'];
  for (const [g, row] of Object.entries(results.cpu)) {
    results.cpu[g] = Object.fromEntries([['args', row.args], ['smallArgs', row.smallArgs], ...order.filter((k) => row[k]).map((k) => [k, row[k]])]);
  }
}

// ------------------------------------------------------------------ sections


async function sectionCold() {
  log('bench: cold start (fresh process per sample)');
  const coldGuests = guestKeys.filter((g) => g === 'hello' || g === 'sha256');
  for (const g of coldGuests) {
    const guest = guests[g];
    const args = guest.smallArgs ?? guest.args;
    const variants = [];
    const base = { wasm: guest.wasm, args, dataDir: dirs.dataDir, mode: 'cold' };
    if (nativeOk) {
      const cacheDir = join(dirs.base, `cold-cache-${g}`);
      variants.push(['native-cached', 'native, on-disk cache hit', { ...base, backend: 'native', config: sandboxConfig(null, { cacheDir }) }, true]);
      variants.push(['native-nocache', 'native, no cache (compile)', { ...base, backend: 'native', config: sandboxConfig(null, { cache: false }) }]);
    }
    if (want('js')) variants.push(['js', 'pure-JS backend (compile)', { ...base, backend: 'js', config: sandboxConfig(null) }]);
    if (want('node-wasi')) variants.push(['node-wasi', 'node:wasi (compile + instantiate)', { ...base, backend: 'node-wasi' }]);
    results.cold[g] = { args };
    for (const [key, label, spec, prefill] of variants) {
      if (prefill) {
        const p = await child(spec); // fills the on-disk cache
        if (p.error) { results.cold[g][key] = { label, error: p.error }; continue; }
      }
      const cold = []; const imports = []; const second = []; const proc = []; let error;
      const parts = { addonMs: [], createMs: [], firstExecMs: [] };
      for (let i = 0; i < BUDGET.coldSamples; i++) {
        const r = await child(spec);
        if (r.error) { error = r.error; break; }
        if (r.exitCode !== undefined && r.exitCode !== 0) { error = `exit ${r.exitCode}`; break; }
        cold.push(r.coldMs); proc.push(r.processWallMs);
        if (r.importMs !== undefined) imports.push(r.importMs);
        if (r.secondMs !== undefined) second.push(r.secondMs);
        for (const k of Object.keys(parts)) if (r[k] !== undefined) parts[k].push(r[k]);
      }
      const partP50 = Object.fromEntries(Object.entries(parts).filter(([, v]) => v.length).map(([k, v]) => [k.replace(/Ms$/, 'P50'), summarize(v).p50]));
      results.cold[g][key] = error ? { label, error } : {
        label, ...summarize(cold), ...partP50, importP50: imports.length ? summarize(imports).p50 : undefined,
        secondP50: second.length ? summarize(second).p50 : undefined, processWallP50: summarize(proc).p50,
      };
      const r = results.cold[g][key];
      log(`  ${g.padEnd(9)} ${key.padEnd(14)} ${r.error ? `ERROR ${r.error}` : `p50 ${fmtMs(r.p50)}  (import ${fmtMs(r.importP50)}, process ${fmtMs(r.processWallP50)})`}`);
    }
    if (wasmtime) {
      for (const [key, label, precompiled] of [['cli-precompiled', 'wasmtime CLI, precompiled .cwasm (process)', true], ['cli-compile', 'wasmtime CLI, compiles .wasm (process)', false]]) {
        const runner = cliRunner(wasmtime, dirs.dataDir, dirs.workDir, { precompiled });
        const samples = []; let error;
        try {
          await checkedRun(runner, guest, args);
          for (let i = 0; i < BUDGET.coldSamples; i++) samples.push((await runner.run(guest, args)).wallMs);
        } catch (e) { error = String(e.message); }
        results.cold[g][key] = error ? { label, error } : { label, ...summarize(samples) };
        log(`  ${g.padEnd(9)} ${key.padEnd(14)} ${error ? `ERROR ${error}` : `p50 ${fmtMs(results.cold[g][key].p50)}`}`);
      }
      // The floor of any process-per-run design on this machine.
      const spawnOnly = [];
      for (let i = 0; i < BUDGET.coldSamples; i++) {
        const t0 = now();
        spawnSync(wasmtime.path, ['--version']);
        spawnOnly.push(now() - t0);
      }
      results.cold[g]['cli-version'] = { label: '`wasmtime --version` (process spawn floor)', ...summarize(spawnOnly) };
    }
  }
}

async function sectionRss() {
  log('bench: peak RSS (fresh process per scenario)');
  const baselines = {};
  if (nativeOk || want('js')) baselines.package = await child({ mode: 'baseline', backend: 'native' });
  if (want('node-wasi')) baselines.node = await child({ mode: 'baseline', backend: 'node-wasi' });
  results.rss.baseline = baselines;
  const hasTime = existsSync('/usr/bin/time');
  if (wasmtime && !hasTime) notes.push('/usr/bin/time not found: no peak RSS for the wasmtime CLI');
  for (const g of guestKeys) {
    const guest = guests[g];
    const inflight = guest.cpu ? 2 : 8;
    const runs = guest.cpu ? 4 : BUDGET.rssRuns;
    results.rss[g] = { inflight, runs };
    const specs = [];
    const data = guest.needsData ? dirs.dataDir : null;
    if (nativeOk) specs.push(['native', { backend: 'native', config: sandboxConfig(data, { cacheDir: dirs.cacheDir }) }]);
    if (want('js')) specs.push(['js', { backend: 'js', config: sandboxConfig(data) }]);
    if (want('node-wasi')) specs.push(['node-wasi', { backend: 'node-wasi' }]);
    for (const [key, spec] of specs) {
      const r = await child({ ...spec, mode: 'rss', wasm: guest.wasm, args: guest.args, dataDir: dirs.dataDir, needsData: !!guest.needsData, runs, inflight });
      // VmHWM, not getrusage's maxRSS: Linux carries ru_maxrss over fork + exec,
      // so a child's maxRSS is at least this bench process's RSS.
      results.rss[g][key] = r.error ? { error: r.error } : { peakKiB: r.vmHwmKiB, maxRssKiB: r.maxRssKiB };
    }
    if (wasmtime && hasTime) {
      const runner = cliRunner(wasmtime, dirs.dataDir, dirs.workDir);
      await checkedRun(runner, guest, guest.args); // compiles the .cwasm
      const r = spawnSync('/usr/bin/time', ['-f', '%M', wasmtime.path, ...runner.argv(guest, guest.args)], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const kib = Number(r.stderr.trim().split('\n').pop());
      results.rss[g].cli = Number.isFinite(kib) ? { peakKiB: kib, perProcess: true } : { error: r.stderr.trim() };
    }
    log(`  ${g.padEnd(9)} ${Object.entries(results.rss[g]).filter(([, v]) => typeof v === 'object').map(([k, v]) => `${k} ${v.error ? 'ERROR' : `${(v.peakKiB / 1024).toFixed(0)} MiB`}`).join('  ')}`);
  }
}

// ------------------------------------------------------------------ run

const t0 = now();
try {
  if (section('latency') || section('cpu') || section('throughput')) await sectionSuites();
  if (section('cold')) await sectionCold();
  if (section('rss')) await sectionRss();
} finally {
  dirs.cleanup();
}
env.loadavgEnd = loadavg();
{
  const after = gitInfo();
  if (after.addonBuilt !== env.addonBuilt) {
    notes.push(`the native addon was rebuilt during the run (${env.addonBuilt} → ${after.addonBuilt}): later native rows ran another build; run again`);
  }
  if (after.gitCommit !== env.gitCommit) notes.push(`HEAD moved during the run (${env.gitCommit} → ${after.gitCommit})`);
}
env.durationSecs = Math.round((now() - t0) / 100) / 10;
env.startedAt = startedAt.toISOString();
env.command = `node bench/run.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
if (!results.latency.hello?.['native-handle'] && nativeOk && section('latency') && guestKeys.includes('hello')) {
  notes.push('native `sandbox.load()` API not present in this build: the "load() + handle.run()" row is skipped');
}

// ------------------------------------------------------------------ report

const BLABEL = {
  native: 'native', 'native-handle': 'native handle.run', 'native-worker': 'native inline: false', 'native-epoch': 'native epoch-only', 'native-nolimits': 'native no limits',
  js: 'pure-JS', 'node-wasi': 'node:wasi', cli: 'wasmtime CLI',
};

function targets() {
  const t = [];
  const lat = results.latency.hello?.native;
  if (lat && !lat.error) t.push({ target: 'Hot execute, hello, native, JS call → resolved promise: P50 ≤ 50 µs', measured: fmtMs(lat.p50), value: lat.p50, met: lat.p50 <= 0.05 });
  const hlat = results.latency.hello?.['native-handle'];
  if (hlat && !hlat.error) t.push({ target: '(same, via load() + handle.run())', measured: fmtMs(hlat.p50), value: hlat.p50, met: hlat.p50 <= 0.05 });
  const tp = results.throughput.hello;
  if (tp?.native?.[8]) t.push({ target: 'Throughput, hello, 8 in flight, native: ≥ 20,000 executes/s', measured: `${fmtRate(tp.native[8].perSec)}/s`, value: tp.native[8].perSec, met: tp.native[8].perSec >= 20000 });
  const cold = results.cold.hello?.['native-cached'];
  if (cold && !cold.error) t.push({ target: 'Cold start (new sandbox + first execute), on-disk cache hit: P50 ≤ 2 ms', measured: `${fmtMs(cold.p50)} (hello)${results.cold.sha256?.['native-cached']?.p50 ? `, ${fmtMs(results.cold.sha256['native-cached'].p50)} (sha256sum.wasm)` : ''}`, value: cold.p50, met: cold.p50 <= 2 });
  if (tp?.native?.[2] && tp?.js?.[2]) {
    const r = tp.native[2].perSec / tp.js[2].perSec;
    t.push({ target: 'Throughput, hello, 2 in flight: native ≥ 2× pure-JS', measured: `${fmtRatio(r)} (${fmtRate(tp.native[2].perSec)} vs ${fmtRate(tp.js[2].perSec)}/s)`, value: r, met: r >= 2 });
  }
  for (const g of ['sha256', 'nbody']) {
    const c = results.cpu[g];
    if (!c) continue;
    const ep = c['native-epoch']; const cli = c.cli; const fuel = c.native;
    if (ep?.computeMs && cli?.computeMs) {
      const r = ep.computeMs / cli.computeMs;
      const raw = ep.big.p50 / cli.big.p50;
      t.push({ target: `CPU-bound (${g}): native epoch-only within 1.1× of the wasmtime CLI`, measured: `${fmtRatio(r)} on guest compute time (P50 big − P50 trivial: ${fmtMs(ep.computeMs)} vs ${fmtMs(cli.computeMs)}); ${fmtRatio(raw)} on raw wall time incl. the CLI's process spawn`, value: r, met: r <= 1.1 });
    }
    if (ep?.computeMs && fuel?.computeMs) {
      const r = fuel.computeMs / ep.computeMs;
      t.push({ target: `Fuel metering cost (${g}): fuel on vs epoch-only`, measured: `${fmtRatio(r)} (${fmtMs(fuel.computeMs)} vs ${fmtMs(ep.computeMs)}; ${r >= 1 ? '+' : '−'}${Math.abs((r - 1) * 100).toFixed(0)} %)`, value: r, met: null });
    }
    const worker = c['native-worker'];
    if (worker?.computeMs && fuel?.computeMs) {
      const r = fuel.computeMs / worker.computeMs;
      t.push({ target: `Inline start cost (${g}): default vs inline: false`, measured: `${fmtRatio(r)} (${fmtMs(fuel.computeMs)} vs ${fmtMs(worker.computeMs)})`, value: r, met: null });
    }
  }
  return t;
}
results.targets = targets();

function markdown() {
  const L = [];
  const row = (cells) => L.push(`| ${cells.join(' | ')} |`);
  const head = (cells) => { row(cells); row(cells.map(() => '---')); };
  L.push(`Measured ${env.startedAt.slice(0, 16).replace('T', ' ')} UTC at commit ${env.gitCommit ?? '?'}${env.sourceChanged ? ' (with uncommitted changes in src-rs/ or src-ts/)' : ''}, ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, ${env.wasmtimeCli ?? 'no wasmtime CLI'}; load average ${env.loadavgStart?.split(' ').slice(0, 3).join(' ')} at start, ${env.loadavgEnd?.split(' ').slice(0, 3).join(' ')} at end; ${Q ? 'quick run (--quick)' : 'full run'}, ${env.durationSecs} s.`);
  L.push('');

  const lat = results.latency;
  if (Object.keys(lat).length) {
    L.push('### Hot execute latency (sequential, JS call → resolved promise)');
    L.push('');
    const present = ['native', 'native-handle', 'native-worker', 'js', 'node-wasi', 'cli'].filter((b) => guestKeys.some((g) => lat[g]?.[b]));
    head(['guest', ...present.map((b) => `${BLABEL[b]} P50`), ...(present.includes('js') ? ['pure-JS / native'] : []), ...(present.includes('node-wasi') ? ['node:wasi / native'] : []), ...(present.includes('cli') ? ['CLI / native'] : [])]);
    for (const g of guestKeys) {
      const r = lat[g]; if (!r) continue;
      const nat = r.native?.p50;
      const cells = present.map((b) => (r[b]?.error ? 'error' : fmtMs(r[b]?.p50)));
      const ratio = (b) => (present.includes(b) ? [fmtRatio(r[b]?.p50 / nat)] : []);
      row([guests[g].title, ...cells, ...ratio('js'), ...ratio('node-wasi'), ...ratio('cli')]);
    }
    L.push('');
    L.push('Percentiles:');
    L.push('');
    head(['guest', 'backend', 'P50', 'P95', 'P99', 'mean', 'n', 'backend-reported elapsedMs P50']);
    for (const g of guestKeys) {
      for (const b of present) {
        const r = lat[g]?.[b]; if (!r) continue;
        if (r.error) { row([g, BLABEL[b], `error: ${r.error}`, '', '', '', '', '']); continue; }
        row([g, BLABEL[b], fmtMs(r.p50), fmtMs(r.p95), fmtMs(r.p99), fmtMs(r.mean), String(r.n), fmtMs(r.internalP50)]);
      }
    }
    L.push('');
  }

  const cold = results.cold;
  if (Object.keys(cold).length) {
    L.push('### Cold start (fresh process per sample: new sandbox + first execute)');
    L.push('');
    head(['guest', 'variant', 'P50', 'P95', 'P99', 'n', 'P50 parts: addon load + new sandbox + 1st execute', 'package import P50', 'then 2nd execute P50']);
    for (const [g, byKey] of Object.entries(cold)) {
      for (const [k, r] of Object.entries(byKey)) {
        if (k === 'args') continue;
        const name = `${guests[g].wasm.split('/').pop()} ${byKey.args.join(' ')}`.trim();
        if (r.error) { row([name, r.label, `error: ${r.error}`, '', '', '', '', '', '']); continue; }
        const parts = r.createP50 === undefined ? '' : `${r.addonP50 !== undefined ? `${fmtMs(r.addonP50)} + ` : ''}${fmtMs(r.createP50)} + ${fmtMs(r.firstExecP50)}`;
        row([name, r.label, fmtMs(r.p50), fmtMs(r.p95), fmtMs(r.p99), String(r.n), parts, fmtMs(r.importP50), fmtMs(r.secondP50)]);
      }
    }
    L.push('');
  }

  const tp = results.throughput;
  if (Object.keys(tp).length) {
    L.push('### Throughput (executes/s with N in flight)');
    L.push('');
    head(['guest', 'backend', ...INFLIGHT.map((n) => `${n} in flight`), 'native / this, 2 in flight']);
    for (const [g, byB] of Object.entries(tp)) {
      for (const [b, r] of Object.entries(byB)) {
        if (r.error) { row([g, BLABEL[b], `error: ${r.error}`, '', '', '']); continue; }
        const nat2 = byB.native?.[2]?.perSec;
        const mine2 = r[2]?.perSec ?? r[1]?.perSec;
        row([g, BLABEL[b], ...INFLIGHT.map((n) => (r[n] ? fmtRate(r[n].perSec) : '— (sync)')), b === 'native' ? '' : fmtRatio(nat2 / mine2)]);
      }
    }
    L.push('');
  }

  const cpu = results.cpu;
  if (Object.keys(cpu).length) {
    L.push('### CPU-bound guests: limits on and off');
    L.push('');
    L.push('"compute" = P50 with the big input − P50 with the trivial input (removes spawn / instantiate / compile).');
    L.push('');
    head(['guest', 'mode', 'P50 big input', 'P95', 'P50 trivial input', 'compute', 'compute vs epoch-only', 'compute vs CLI']);
    for (const [g, byM] of Object.entries(cpu)) {
      const ep = byM['native-epoch']?.computeMs; const cli = byM.cli?.computeMs;
      for (const [m, r] of Object.entries(byM)) {
        if (m === 'args' || m === 'smallArgs') continue;
        if (r.big.error) { row([g, r.label, `error: ${r.big.error}`, '', '', '', '', '']); continue; }
        row([`${g} ${byM.args.join(' ')} / ${byM.smallArgs.join(' ')}`, r.label, fmtMs(r.big.p50), fmtMs(r.big.p95), fmtMs(r.small?.p50), fmtMs(r.computeMs), fmtRatio(r.computeMs / ep), fmtRatio(r.computeMs / cli)]);
      }
    }
    L.push('');
  }

  const rss = results.rss;
  if (Object.keys(rss).length) {
    L.push('### Peak RSS (fresh process per scenario)');
    L.push('');
    const base = rss.baseline ?? {};
    const mib = (k) => (k ? `${(k / 1024).toFixed(0)} MiB` : '—');
    L.push(`VmHWM of the process. Baselines: node + package imported ${mib(base.package?.vmHwmKiB)}; bare node ${mib(base.node?.vmHwmKiB)}. CLI: one \`wasmtime run\` process (\`/usr/bin/time -f %M\`).`);
    L.push('');
    const bs = ['native', 'js', 'node-wasi', 'cli'].filter((b) => guestKeys.some((g) => rss[g]?.[b]));
    head(['guest', 'runs (in flight)', ...bs.map((b) => BLABEL[b])]);
    for (const g of guestKeys) {
      const r = rss[g]; if (!r) continue;
      row([g, `${r.runs} (${r.inflight})`, ...bs.map((b) => (r[b]?.error ? 'error' : mib(r[b]?.peakKiB)))]);
    }
    L.push('');
  }

  if (results.targets.length) {
    L.push('### Targets');
    L.push('');
    head(['target', 'measured', 'met']);
    for (const t of results.targets) row([t.target, t.measured, t.met === null ? '(report)' : t.met ? 'yes' : 'no']);
    L.push('');
  }
  if (notes.length) {
    L.push('Notes:');
    for (const n of notes) L.push(`- ${n}`);
    L.push('');
  }
  return L.join('\n');
}

const md = markdown();
process.stdout.write(`\n${md}\n`);
results.markdown = md;
if (opts.write) {
  writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`bench: wrote ${opts.out}`);
}
if (opts.write && opts.updateReadme) updateReadmes(md, env.command);
