#!/usr/bin/env node
// mimobox-wasm benchmark: `npm run bench` (= node bench/run.mjs).
// Measures (bench/sections/*, each cell in a fresh process, a progress line
// per cell on stderr), writes bench/results.json, then reports it
// (bench/report.mjs: Markdown tables on stdout, SVG charts in bench/charts/,
// optionally the READMEs). See bench/README.md for what each row means.
import './quiet.mjs';
import { writeFileSync } from 'node:fs';
import { HELP, INFLIGHT, budget, parseArgs } from './options.mjs';
import { importPackage, findWasmtime, makeTempDirs, sandboxConfig, now, loadavg } from './lib.mjs';
import { makeGuests, makePrograms } from './guests/index.mjs';
import { gitInfo, machineInfo, driftNotes } from './env.mjs';
import { sectionSuites } from './sections/suites.mjs';
import { sectionCold } from './sections/cold.mjs';
import { sectionEngines } from './sections/engines.mjs';
import { sectionRss } from './sections/rss.mjs';
import { sectionPrograms } from './sections/programs.mjs';
import { sectionPython } from './sections/python.mjs';
import { report } from './report.mjs';

const log = (m) => process.stderr.write(`${m}\n`);

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  log(`bench: ${e.message}`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
if (opts.readmeFrom) {
  await report(opts.readmeFrom, { write: opts.write, updateReadme: opts.write, chartsDir: opts.chartsDir });
  process.exit(0);
}

const want = (b) => !opts.only || opts.only.includes(b);
const section = (s) => !opts.sections || opts.sections.includes(s);
const startedAt = new Date();
const dirs = makeTempDirs();
const guests = makeGuests({ quick: opts.quick, dataDir: dirs.dataDir });
const guestKeys = (opts.guests ?? Object.keys(guests)).filter((g) => {
  if (!guests[g]) { log(`bench: unknown guest ${g} (ignored)`); return false; }
  return true;
});
const pkg = await importPackage();

const notes = [];
let nativeOk = false;
let nativeInfo = null;
if (want('native')) {
  try {
    await pkg.createSandbox(sandboxConfig(null, { cacheDir: dirs.cacheDir }), { backend: 'native' }).destroy();
    nativeOk = true;
    try {
      nativeInfo = (await importPackage({ build: false, entry: 'native/addon.js' })).loadNativeBinding?.()?.nativeInfo?.() ?? null;
    } catch { /* informational only */ }
  } catch (e) {
    notes.push(`native backend unavailable, its rows are skipped: ${String(e.message).split('\n')[0]}`);
  }
}
const wasmtime = want('cli') ? findWasmtime() : null;
if (want('cli') && !wasmtime) notes.push('wasmtime CLI not found (run `bash bench/setup.sh`, or set WASMTIME=/path/to/wasmtime): its rows are skipped');

const env = { ...machineInfo(), wasmtimeCli: wasmtime?.version ?? null, native: nativeInfo, quick: opts.quick, ...gitInfo() };
log(`bench: ${opts.quick ? 'quick' : 'full'} run on ${env.cpus} CPUs (${env.cpuModel}), node ${env.node}, loadavg ${env.loadavgStart}`);
log(`bench: wasmtime CLI: ${wasmtime ? `${wasmtime.version} (${wasmtime.path})` : 'absent'}`);

// Runner keys of bench/measure.mjs, one fresh process each in the suites.
const backends = [];
if (nativeOk) backends.push('native', 'native-handle', 'native-worker');
if (want('js')) backends.push('js');
if (want('node-wasi')) backends.push('node-wasi');
if (wasmtime) backends.push('cli');

const results = { env, notes, latency: {}, cold: {}, throughput: {}, cpu: {}, engines: null, rss: {}, programs: {}, python: {}, inflight: INFLIGHT };
/** What every section gets: options, guests, where to write, how to log. */
const c = {
  results, notes, log, want, section, nativeOk, wasmtime, backends, dirs, guests, guestKeys,
  programs: makePrograms({ quick: opts.quick }), quick: opts.quick, budget: budget(opts.quick), inflight: INFLIGHT,
  ctx: { dataDir: dirs.dataDir, cacheDir: dirs.cacheDir, workDir: dirs.workDir, wasmtimePath: wasmtime?.path, wasmtimeVersion: wasmtime?.version },
};

const t0 = now();
try {
  if (section('latency') || section('cpu') || section('throughput')) await sectionSuites(c);
  if (section('cold')) await sectionCold(c);
  if (section('engines')) await sectionEngines(c);
  if (section('rss')) await sectionRss(c);
  if (section('programs')) await sectionPrograms(c);
  if (section('python')) await sectionPython(c);
} finally {
  dirs.cleanup();
}
env.loadavgEnd = loadavg();
notes.push(...driftNotes(env));
env.durationSecs = Math.round((now() - t0) / 100) / 10;
env.startedAt = startedAt.toISOString();
env.command = `node bench/run.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
if (!results.latency.hello?.['native-handle'] && nativeOk && section('latency') && guestKeys.includes('hello')) {
  notes.push('native `sandbox.load()` API not present in this build: the "load() + handle.run()" row is skipped');
}

if (opts.write) {
  writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`bench: wrote ${opts.out}`);
}
await report(results, { write: opts.write, updateReadme: opts.write && opts.updateReadme, chartsDir: opts.chartsDir });
