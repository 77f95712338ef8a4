// The goals of the issues, each with its figure from one results.json.
// `met`: true / false, or null for a figure that is reported, not judged.
import { fmtMs, fmtRatio, fmtRate } from '../lib.mjs';

const ok = (r) => r && !r.error;
const pct = (r) => `${r >= 1 ? '+' : '−'}${Math.abs((r - 1) * 100).toFixed(0)} %`;

/** Hot path, throughput, cold start and CPU-bound goals (issues 4 and 13). */
function coreTargets(results, t) {
  const lat = results.latency.hello?.native;
  if (ok(lat)) t.push({ target: 'Hot execute, hello, native, JS call → resolved promise: P50 ≤ 50 µs', measured: fmtMs(lat.p50), value: lat.p50, met: lat.p50 <= 0.05 });
  const hlat = results.latency.hello?.['native-handle'];
  if (ok(hlat)) t.push({ target: '(same, via load() + handle.run())', measured: fmtMs(hlat.p50), value: hlat.p50, met: hlat.p50 <= 0.05 });
  const tp = results.throughput.hello;
  if (tp?.native?.[8]) t.push({ target: 'Throughput, hello, 8 in flight, native: ≥ 20,000 executes/s', measured: `${fmtRate(tp.native[8].perSec)}/s`, value: tp.native[8].perSec, met: tp.native[8].perSec >= 20000 });
  if (tp?.native?.[2] && tp?.js?.[2]) {
    const r = tp.native[2].perSec / tp.js[2].perSec;
    t.push({ target: 'Throughput, hello, 2 in flight: native ≥ 2× pure-JS', measured: `${fmtRatio(r)} (${fmtRate(tp.native[2].perSec)} vs ${fmtRate(tp.js[2].perSec)}/s)`, value: r, met: r >= 2 });
  }
  // Issue 13, goal 3: the default (inline start) against inline: false.
  const wlat = results.latency.hello?.['native-worker'];
  if (ok(lat) && ok(wlat)) {
    const r = Math.min(lat.p50, wlat.p50) / lat.p50;
    t.push({ target: 'Inline start adapts, latency (hello, 1 in flight): default ≥ 0.95× the better of inline / inline: false', measured: `${fmtRatio(r)} (${fmtMs(lat.p50)} vs inline: false ${fmtMs(wlat.p50)})`, value: r, met: r >= 0.95 });
  }
  for (const n of [2, 8]) {
    const d = tp?.native?.[n]; const w = tp?.['native-worker']?.[n];
    if (!d || !w) continue;
    const r = d.perSec / Math.max(d.perSec, w.perSec);
    t.push({ target: `Inline start adapts, throughput (hello, ${n} in flight): default ≥ 0.95× the better`, measured: `${fmtRatio(r)} (${fmtRate(d.perSec)} vs inline: false ${fmtRate(w.perSec)}/s)`, value: r, met: r >= 0.95 });
  }
  const cold = results.cold.hello?.['native-cached'];
  if (ok(cold)) t.push({ target: 'Cold start (new sandbox + first execute), on-disk cache hit: P50 ≤ 2 ms', measured: `${fmtMs(cold.p50)} (hello)${results.cold.sha256?.['native-cached']?.p50 ? `, ${fmtMs(results.cold.sha256['native-cached'].p50)} (sha256sum.wasm)` : ''}`, value: cold.p50, met: cold.p50 <= 2 });
  const nw = results.cold.hello?.['node-wasi'];
  if (ok(cold) && ok(nw)) {
    const r = cold.p50 / nw.p50;
    t.push({ target: 'Cold start, hello: native cache hit ≤ 1.0× node:wasi', measured: `${fmtRatio(r)} (${fmtMs(cold.p50)} vs ${fmtMs(nw.p50)})`, value: r, met: r <= 1 });
  }
  if (ok(cold) && cold.importP50 !== undefined) t.push({ target: 'Package import (`import(\'mimobox-wasm\')`) ≤ 3 ms', measured: fmtMs(cold.importP50), value: cold.importP50, met: cold.importP50 <= 3 });
  for (const g of ['sha256', 'nbody']) {
    const c = results.cpu[g];
    if (!c) continue;
    const ep = c['native-epoch']; const cli = c.cli; const fuel = c.native; const nw2 = c['node-wasi'];
    if (ep?.computeMs && cli?.computeMs) {
      const r = ep.computeMs / cli.computeMs;
      const raw = ep.big.p50 / cli.big.p50;
      t.push({ target: `CPU-bound (${g}): native epoch-only within 1.1× of the wasmtime CLI`, measured: `${fmtRatio(r)} on guest compute time (P50 big − P50 trivial: ${fmtMs(ep.computeMs)} vs ${fmtMs(cli.computeMs)}); ${fmtRatio(raw)} on raw wall time incl. the CLI's process spawn`, value: r, met: r <= 1.1 });
    }
    if (fuel?.computeMs && nw2?.computeMs) {
      const r = fuel.computeMs / nw2.computeMs;
      t.push({ target: `CPU-bound (${g}): native default ≤ 1.05× node:wasi`, measured: `${fmtRatio(r)} on compute time (${fmtMs(fuel.computeMs)} vs ${fmtMs(nw2.computeMs)})`, value: r, met: r <= 1.05 });
    }
    const metered = c['native-fuel'];
    if (ep?.computeMs && metered?.computeMs) {
      const r = metered.computeMs / ep.computeMs;
      t.push({ target: `Fuel metering cost (${g}): fuel: N vs epoch-only`, measured: `${fmtRatio(r)} (${fmtMs(metered.computeMs)} vs ${fmtMs(ep.computeMs)}; ${pct(r)})`, value: r, met: null });
    }
    const worker = c['native-worker'];
    if (worker?.computeMs && fuel?.computeMs) {
      const r = fuel.computeMs / worker.computeMs;
      t.push({ target: `Inline start cost (${g}): default vs inline: false`, measured: `${fmtRatio(r)} (${fmtMs(fuel.computeMs)} vs ${fmtMs(worker.computeMs)})`, value: r, met: null });
    }
    const why = results.engines?.table?.[g];
    if (why) {
      const x = (v) => fmtRatio(why[v]?.vsNodeWasi);
      t.push({
        target: `(why) CPU-bound (${g}), side by side in alternating rounds: each engine ÷ node:wasi (profile: bench/profile/${g}.*.txt)`,
        measured: `mimobox ${x('mimobox core (default settings)')}; without epoch checks ${x('no epoch interruption')}; wasmtime's defaults ${x('wasmtime defaults (as its CLI)')}; with explicit bounds checks ${x('64 MiB reservation (explicit bounds checks)')}`,
        value: why['mimobox core (default settings)']?.vsNodeWasi, met: null,
      });
    }
  }
}

/** Real programs (issue 13 goal 1) and CPython (issue 10). */
function programTargets(results, t) {
  for (const [key, p] of Object.entries(results.programs ?? {})) {
    const d = p.native; const e = p['native-epoch']; const f = p['native-fuel'];
    if (d?.computeMs && e?.computeMs) {
      const r = d.computeMs / e.computeMs;
      t.push({ target: `Default mode ≤ 1.10× epoch-only on ${p.title}`, measured: `${fmtRatio(r)} (${fmtMs(d.computeMs)} vs ${fmtMs(e.computeMs)}; ${pct(r)})`, value: r, met: r <= 1.1 });
    }
    if (f?.computeMs && e?.computeMs) {
      const r = f.computeMs / e.computeMs;
      t.push({ target: `Fixed fuel cost on ${p.title}: fuel: N vs epoch-only`, measured: `${fmtRatio(r)} (${fmtMs(f.computeMs)} vs ${fmtMs(e.computeMs)})`, value: r, met: null });
    }
    if (key === 'py-print' && ok(d?.big)) t.push({ target: 'CPython hot `print(6*7)`, one runner: P50 ≤ 12 ms', measured: fmtMs(d.big.p50), value: d.big.p50, met: d.big.p50 <= 12 });
    if (key === 'py-print-finalize' && ok(d?.big)) t.push({ target: '(why) the same `print(6*7)` with `finalize: true` (CPython\'s full shutdown, which runs skip by default): P50', measured: fmtMs(d.big.p50), value: d.big.p50, met: null });
    if (key === 'py-numpy' && ok(d?.big)) t.push({ target: 'CPython hot numpy one-liner, one runner: P50', measured: fmtMs(d.big.p50), value: d.big.p50, met: null });
  }
  const cold = results.python?.cold;
  if (cold && !cold.error) {
    t.push({ target: 'CPython, new process, first `print(6*7)`, warm disk cache (import + createPython + first run): ≤ 60 ms', measured: `${fmtMs(cold.cold.p50)} (whole process, spawn to exit: ${fmtMs(cold.processWall.p50)})`, value: cold.cold.p50, met: cold.cold.p50 <= 60 });
    t.push({ target: 'CPython cache-hit load of the ~250 MB artefact in a new process (`createPython`): ≤ 30 ms', measured: fmtMs(cold.create.p50), value: cold.create.p50, met: cold.create.p50 <= 30 });
    t.push({ target: 'CPython new process: peak RSS', measured: `${(cold.vmHwm.p50 / 1024).toFixed(0)} MiB`, value: cold.vmHwm.p50, met: null });
  }
}

/** Issue 15: agent sessions on CPython. */
function sessionTargets(results, t) {
  const s = results.python?.sessions;
  if (!s || s.error) return;
  t.push({ target: 'CPython session, a warm turn (`x + 1`): P50 ≤ 2 ms', measured: `${fmtMs(s.turn.p50)} (one-shot \`print(6*7)\` on the same runner: ${fmtMs(s.oneShot.p50)})`, value: s.turn.p50, met: s.turn.p50 <= 2 });
  t.push({ target: 'CPython session, a tool round trip (Python → Node handler → Python): P50 ≤ 200 µs', measured: fmtMs(s.toolRoundTrip.p50), value: s.toolRoundTrip.p50, met: s.toolRoundTrip.p50 <= 0.2 });
  t.push({ target: 'CPython session, opening one on the snapshot: ≤ 15 ms', measured: `${fmtMs(s.open.p50)} (with its first turn: ${fmtMs(s.openFirstTurn.p50)})`, value: s.open.p50, met: s.open.p50 <= 15 });
}

export function targets(results) {
  const t = [];
  coreTargets(results, t);
  programTargets(results, t);
  sessionTargets(results, t);
  return t;
}
