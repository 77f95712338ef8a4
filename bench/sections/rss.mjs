// Peak RSS: a fresh process per scenario reports its VmHWM.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { sandboxConfig, cliRunner } from '../lib.mjs';
import { checkedRun } from '../measure.mjs';
import { child } from './spawn.mjs';

/** Fills results.rss: a baseline process, then every guest on every backend. */
export async function sectionRss(c) {
  const { results, dirs, guests, wasmtime } = c;
  c.log('bench: peak RSS (fresh process per scenario)');
  const baselines = {};
  if (c.nativeOk || c.want('js')) baselines.package = await child({ mode: 'baseline', backend: 'native' });
  if (c.want('node-wasi')) baselines.node = await child({ mode: 'baseline', backend: 'node-wasi' });
  results.rss.baseline = baselines;
  const hasTime = existsSync('/usr/bin/time');
  if (wasmtime && !hasTime) c.notes.push('/usr/bin/time not found: no peak RSS for the wasmtime CLI');
  for (const g of c.guestKeys) {
    const guest = guests[g];
    const inflight = guest.cpu ? 2 : 8;
    const runs = guest.cpu ? 4 : c.budget.rssRuns;
    results.rss[g] = { inflight, runs };
    const specs = [];
    const data = guest.needsData ? dirs.dataDir : null;
    if (c.nativeOk) specs.push(['native', { backend: 'native', config: sandboxConfig(data, { cacheDir: dirs.cacheDir }) }]);
    if (c.want('js')) specs.push(['js', { backend: 'js', config: sandboxConfig(data) }]);
    if (c.want('node-wasi')) specs.push(['node-wasi', { backend: 'node-wasi' }]);
    for (const [key, spec] of specs) {
      const r = await child({ ...spec, mode: 'rss', wasm: guest.wasm, args: guest.args, dataDir: dirs.dataDir, needsData: !!guest.needsData, runs, inflight });
      // VmHWM, not getrusage's maxRSS: Linux carries ru_maxrss over fork + exec,
      // so a child's maxRSS is at least this bench process's RSS.
      results.rss[g][key] = r.error ? { error: r.error } : { peakKiB: r.vmHwmKiB, maxRssKiB: r.maxRssKiB };
      c.log(`  rss        ${g.padEnd(9)} ${key.padEnd(14)} ${r.error ? `ERROR ${r.error}` : `${(r.vmHwmKiB / 1024).toFixed(0)} MiB`}`);
    }
    if (wasmtime && hasTime) {
      const runner = cliRunner(wasmtime, dirs.dataDir, dirs.workDir);
      await checkedRun(runner, guest, guest.args); // compiles the .cwasm
      const r = spawnSync('/usr/bin/time', ['-f', '%M', wasmtime.path, ...runner.argv(guest, guest.args)], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const kib = Number(r.stderr.trim().split('\n').pop());
      results.rss[g].cli = Number.isFinite(kib) ? { peakKiB: kib, perProcess: true } : { error: r.stderr.trim() };
      c.log(`  rss        ${g.padEnd(9)} ${'cli'.padEnd(14)} ${Number.isFinite(kib) ? `${(kib / 1024).toFixed(0)} MiB` : 'ERROR'}`);
    }
  }
}
