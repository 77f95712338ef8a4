// The in-process sections (hot latency, CPU-bound modes, throughput): one
// fresh process per backend, so one backend's threads, workers and garbage
// do not slow down the next.
import { child } from './spawn.mjs';
import { LABEL } from './labels.mjs';

const CPU_MODES = { native: ['native', 'native-worker', 'native-epoch', 'native-fuel', 'native-nolimits'], cli: ['cli', 'cli-epoch', 'cli-fuel'] };
const CPU_ORDER = ['native', 'native-worker', 'native-epoch', 'native-fuel', 'native-nolimits', 'js', 'node-wasi', 'cli', 'cli-epoch', 'cli-fuel'];

/** Fills results.latency, results.cpu and results.throughput. */
export async function sectionSuites(c) {
  const { results, notes, guests, guestKeys } = c;
  const cpuGuests = c.section('cpu') ? guestKeys.filter((g) => guests[g].cpu) : [];
  for (const b of c.backends) {
    const tasks = [];
    if (c.section('latency')) for (const g of guestKeys) tasks.push({ type: 'latency', runner: b, guest: g });
    for (const g of cpuGuests) {
      if (b === 'native-handle' || b === 'native-worker') continue;
      tasks.push({ type: 'cpu', runners: CPU_MODES[b] ?? [b], guest: g });
    }
    if (c.section('throughput')) for (const g of guestKeys.filter((k) => k !== 'nbody')) tasks.push({ type: 'throughput', runner: b, guest: g });
    if (tasks.length === 0) continue;
    c.log(`bench: ${LABEL[b]} (fresh process)`);
    const r = await child({ mode: 'suite', ctx: c.ctx, quick: c.quick, budget: c.budget, inflight: c.inflight, tasks }, { progress: true });
    if (r.error) {
      notes.push(`${LABEL[b]}: the bench process failed: ${r.error}`);
      c.log(`  ERROR ${r.error}`);
      continue;
    }
    for (const t of r.results) {
      const res = t.result;
      if (res?.skipped) continue;
      if (t.type === 'latency') (results.latency[t.guest] ??= {})[b] = res;
      else if (t.type === 'throughput') (results.throughput[t.guest] ??= {})[b] = res;
      else if (t.type === 'cpu') {
        const row = (results.cpu[t.guest] ??= { args: guests[t.guest].args, smallArgs: guests[t.guest].smallArgs });
        if (res.error) { for (const k of t.runners) row[k] = { label: LABEL[k], big: { error: res.error } }; continue; }
        for (const [k, v] of Object.entries(res)) row[k] = { label: LABEL[k], big: v.big, small: v.small, computeMs: v.big.p50 - v.small.p50 };
      }
    }
  }
  // Keep the CPU table in a fixed order.
  for (const [g, row] of Object.entries(results.cpu)) {
    results.cpu[g] = Object.fromEntries([['args', row.args], ['smallArgs', row.smallArgs], ...CPU_ORDER.filter((k) => row[k]).map((k) => [k, row[k]])]);
  }
}
