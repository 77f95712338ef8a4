// Cold start: a fresh process per sample, from nothing to the first result.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { now, sandboxConfig, cliRunner, summarize, fmtMs } from '../lib.mjs';
import { checkedRun } from '../measure.mjs';
import { child } from './spawn.mjs';

/** Samples `spec` in `n` fresh processes; the P50 of each reported part. */
async function sampleProcesses(spec, n) {
  const cold = []; const proc = [];
  const parts = { importMs: [], addonMs: [], createMs: [], firstExecMs: [], secondMs: [] };
  for (let i = 0; i < n; i++) {
    const r = await child(spec);
    if (r.error) return { error: r.error };
    if (r.exitCode !== undefined && r.exitCode !== 0) return { error: `exit ${r.exitCode}` };
    cold.push(r.coldMs); proc.push(r.processWallMs);
    for (const k of Object.keys(parts)) if (r[k] !== undefined) parts[k].push(r[k]);
  }
  const partP50 = Object.fromEntries(Object.entries(parts).filter(([, v]) => v.length).map(([k, v]) => [k.replace(/Ms$/, 'P50'), summarize(v).p50]));
  return { ...summarize(cold), ...partP50, processWallP50: summarize(proc).p50 };
}

/** Fills results.cold: hello and sha256 on every backend, the CLI's process floor. */
export async function sectionCold(c) {
  const { results, dirs, guests, wasmtime } = c;
  c.log('bench: cold start (fresh process per sample)');
  for (const g of c.guestKeys.filter((k) => k === 'hello' || k === 'sha256')) {
    const guest = guests[g];
    const args = guest.smallArgs ?? guest.args;
    const base = { wasm: guest.wasm, args, dataDir: dirs.dataDir, mode: 'cold' };
    const variants = [];
    if (c.nativeOk) {
      const cacheDir = join(dirs.base, `cold-cache-${g}`);
      variants.push(['native-cached', 'native, on-disk cache hit', { ...base, backend: 'native', config: sandboxConfig(null, { cacheDir }) }, true]);
      variants.push(['native-nocache', 'native, no cache (compile)', { ...base, backend: 'native', config: sandboxConfig(null, { cache: false }) }]);
    }
    if (c.want('js')) variants.push(['js', 'pure-JS backend (compile)', { ...base, backend: 'js', config: sandboxConfig(null) }]);
    if (c.want('node-wasi')) variants.push(['node-wasi', 'node:wasi (compile + instantiate)', { ...base, backend: 'node-wasi' }]);
    results.cold[g] = { args };
    for (const [key, label, spec, prefill] of variants) {
      const p = prefill ? await child(spec) : null; // fills the on-disk cache
      const r = p?.error ? { error: p.error } : await sampleProcesses(spec, c.budget.coldSamples);
      results.cold[g][key] = { label, ...r };
      c.log(`  cold       ${g.padEnd(9)} ${key.padEnd(14)} ${r.error ? `ERROR ${r.error}` : `p50 ${fmtMs(r.p50)}  (import ${fmtMs(r.importP50)}, process ${fmtMs(r.processWallP50)})`}`);
    }
    if (!wasmtime) continue;
    for (const [key, label, precompiled] of [['cli-precompiled', 'wasmtime CLI, precompiled .cwasm (process)', true], ['cli-compile', 'wasmtime CLI, compiles .wasm (process)', false]]) {
      const runner = cliRunner(wasmtime, dirs.dataDir, dirs.workDir, { precompiled });
      const samples = []; let error;
      try {
        await checkedRun(runner, guest, args);
        for (let i = 0; i < c.budget.coldSamples; i++) samples.push((await runner.run(guest, args)).wallMs);
      } catch (e) { error = String(e.message); }
      results.cold[g][key] = error ? { label, error } : { label, ...summarize(samples) };
      c.log(`  cold       ${g.padEnd(9)} ${key.padEnd(14)} ${error ? `ERROR ${error}` : `p50 ${fmtMs(results.cold[g][key].p50)}`}`);
    }
    // The floor of any process-per-run design on this machine.
    const spawnOnly = [];
    for (let i = 0; i < c.budget.coldSamples; i++) {
      const t0 = now();
      spawnSync(wasmtime.path, ['--version']);
      spawnOnly.push(now() - t0);
    }
    results.cold[g]['cli-version'] = { label: '`wasmtime --version` (process spawn floor)', ...summarize(spawnOnly) };
  }
}
