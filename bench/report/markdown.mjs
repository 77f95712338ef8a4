// results.json → Markdown tables (stdout, bench/README.md, docs/benchmarks.md).
import { fmtMs, fmtRatio, fmtRate } from '../lib.mjs';
import { SHORT } from '../sections/labels.mjs';
import { makeGuests } from '../guests/index.mjs';
import { engineKnobsTable } from '../engine-knobs.mjs';

const mib = (k) => (k ? `${(k / 1024).toFixed(0)} MiB` : '—');

/** A Markdown builder: lines, table rows, chart images. */
function builder(chartBase, charts) {
  const L = [];
  const row = (cells) => L.push(`| ${cells.join(' | ')} |`);
  return {
    L,
    row,
    head: (cells) => { row(cells); row(cells.map(() => '---')); },
    chart: (name, alt) => { if (charts?.[name]) L.push(`![${alt}](${chartBase}${charts[name]})`, ''); },
  };
}

function latencySection(results, b, guestKeys, titles) {
  const lat = results.latency;
  if (!Object.keys(lat).length) return;
  const { L, row, head } = b;
  L.push('### Hot execute latency (sequential, JS call → resolved promise)', '');
  b.chart('latency', 'hot execute latency P50 per backend');
  const present = ['native', 'native-handle', 'native-worker', 'js', 'node-wasi', 'cli'].filter((k) => guestKeys.some((g) => lat[g]?.[k]));
  const ratios = ['js', 'node-wasi', 'cli'].filter((k) => present.includes(k));
  head(['guest', ...present.map((k) => `${SHORT[k]} P50`), ...ratios.map((k) => `${k === 'cli' ? 'CLI' : SHORT[k]} / native`)]);
  for (const g of guestKeys) {
    const r = lat[g]; if (!r) continue;
    row([titles[g] ?? g, ...present.map((k) => (r[k]?.error ? 'error' : fmtMs(r[k]?.p50))), ...ratios.map((k) => fmtRatio(r[k]?.p50 / r.native?.p50))]);
  }
  L.push('', 'Percentiles:', '');
  head(['guest', 'backend', 'P50', 'P95', 'P99', 'mean', 'n', 'backend-reported elapsedMs P50']);
  for (const g of guestKeys) {
    for (const k of present) {
      const r = lat[g]?.[k]; if (!r) continue;
      if (r.error) { row([g, SHORT[k], `error: ${r.error}`, '', '', '', '', '']); continue; }
      row([g, SHORT[k], fmtMs(r.p50), fmtMs(r.p95), fmtMs(r.p99), fmtMs(r.mean), String(r.n), fmtMs(r.internalP50)]);
    }
  }
  L.push('');
}

function coldSection(results, b) {
  const cold = results.cold;
  if (!Object.keys(cold).length) return;
  const { L, row, head } = b;
  L.push('### Cold start (fresh process per sample: new sandbox + first execute)', '');
  b.chart('cold', 'cold start P50 per variant');
  head(['guest', 'variant', 'P50', 'P95', 'P99', 'n', 'P50 parts: addon load + new sandbox + 1st execute', 'package import P50', 'then 2nd execute P50']);
  for (const [g, byKey] of Object.entries(cold)) {
    for (const [k, r] of Object.entries(byKey)) {
      if (k === 'args') continue;
      const name = `${g === 'hello' ? 'hello.wasm' : g === 'sha256' ? 'sha256sum.wasm' : g} ${byKey.args.join(' ')}`.trim();
      if (r.error) { row([name, r.label, `error: ${r.error}`, '', '', '', '', '', '']); continue; }
      const parts = r.createP50 === undefined ? '' : `${r.addonP50 !== undefined ? `${fmtMs(r.addonP50)} + ` : ''}${fmtMs(r.createP50)} + ${fmtMs(r.firstExecP50)}`;
      row([name, r.label, fmtMs(r.p50), fmtMs(r.p95), fmtMs(r.p99), String(r.n), parts, fmtMs(r.importP50), fmtMs(r.secondP50)]);
    }
  }
  L.push('');
}

function throughputSection(results, b) {
  const tp = results.throughput;
  if (!Object.keys(tp).length) return;
  const { L, row, head } = b;
  const inflight = results.inflight ?? [1, 2, 8];
  L.push('### Throughput (executes/s with N in flight)', '');
  b.chart('throughput', 'throughput against executes in flight');
  head(['guest', 'backend', ...inflight.map((n) => `${n} in flight`), 'native / this, 2 in flight']);
  for (const [g, byB] of Object.entries(tp)) {
    for (const [k, r] of Object.entries(byB)) {
      if (r.error) { row([g, SHORT[k], `error: ${r.error}`, ...inflight.map(() => ''), '']); continue; }
      const mine2 = r[2]?.perSec ?? r[1]?.perSec;
      row([g, SHORT[k], ...inflight.map((n) => (r[n] ? fmtRate(r[n].perSec) : '— (sync)')), k === 'native' ? '' : fmtRatio(byB.native?.[2]?.perSec / mine2)]);
    }
  }
  L.push('');
}

/** The CPU-bound table and the real-programs table share one shape: modes of one guest. */
function modesTable(b, rows, describe) {
  const { row, head } = b;
  // A "compute vs X" column only where some guest has an X row.
  const refs = [['native-epoch', 'epoch-only'], ['node-wasi', 'node:wasi'], ['cli', 'CLI']].filter(([k]) => Object.values(rows).some((byM) => byM[k]?.computeMs));
  head(['guest', 'mode', 'P50', 'P95', 'n', 'P50 trivial input', 'compute', ...refs.map(([, name]) => `compute vs ${name}`)]);
  for (const [g, byM] of Object.entries(rows)) {
    for (const [m, r] of Object.entries(byM)) {
      if (!r || typeof r !== 'object' || !r.big) continue;
      if (r.big.error) { row([describe(g, byM), r.label, `error: ${r.big.error}`, '', '', '', '', ...refs.map(() => '')]); continue; }
      row([describe(g, byM), r.label, fmtMs(r.big.p50), fmtMs(r.big.p95), String(r.big.n), fmtMs(r.small?.p50), fmtMs(r.computeMs), ...refs.map(([k]) => fmtRatio(r.computeMs / byM[k]?.computeMs))]);
    }
  }
}

function cpuSection(results, b) {
  if (!Object.keys(results.cpu).length) return;
  b.L.push('### CPU-bound guests: limits on and off', '', '"compute" = P50 with the big input − P50 with the trivial input (removes spawn / instantiate / compile).', '');
  modesTable(b, results.cpu, (g, byM) => `${g} ${byM.args.join(' ')} / ${byM.smallArgs.join(' ')}`);
  b.L.push('');
}

function enginesSection(results, b) {
  if (!results.engines?.table) return;
  b.L.push('### CPU-bound guests: where the time goes, engine setting by engine setting', '',
    `mimobox's engine, bare wasmtime ${results.engines.wasmtime} engines that differ from it in one setting each, and node:wasi, in alternating rounds (\`bench/engine-knobs.mjs\`); compute = the run with the input − the run with "0". Profiles: \`node bench/profile-cpu.mjs\` → \`bench/profile/\`.`, '',
    engineKnobsTable(results.engines), '');
}

function programsSection(results, b) {
  const programs = results.programs ?? {};
  if (!Object.keys(programs).length) return;
  b.L.push('### Real programs: fuel and epoch cost on interpreters', '');
  b.L.push('All modes of one program in one process, interleaved round-robin. SQLite: "compute" = P50 − P50 of `SELECT 1;`. CPython (native only: V8 in Node 20 has no wasm exception handling): one `createPython` runner per mode, a fresh interpreter per run; "compute" = the whole run.', '');
  b.chart('programs', 'real programs: time per mode relative to epoch-only');
  modesTable(b, programs, (g, p) => p.title);
  b.L.push('');
}

function pythonSection(results, b) {
  const cold = results.python?.cold;
  if (!cold) return;
  const { L, row, head } = b;
  L.push('### CPython: a new process\'s first `print(6*7)` (warm disk cache)', '');
  if (cold.error) { L.push(`error: ${cold.error}`, ''); return; }
  b.chart('python', 'CPython new process: parts of the first result');
  L.push('A fresh `node` process per sample: node\'s own start, `import(\'mimobox-wasm/python\')`, `createPython()` (cache hit: stat the wasm, find its hash in the on-disk fingerprint index, map the `.cwasm`), the first run; then the process\'s peak RSS (VmHWM).', '');
  head(['part', 'P50', 'P95', 'n']);
  const parts = [['node start (process start → first line of the script)', 'boot'], ['import mimobox-wasm/python', 'import'], ['createPython() (load of the ~250 MB artefact)', 'create'], ['first run, print(6*7)', 'firstRun'], ['import + createPython + first run', 'cold'], ['whole process (spawn → exit)', 'processWall']];
  for (const [name, k] of parts) row([name, fmtMs(cold[k].p50), fmtMs(cold[k].p95), String(cold[k].n)]);
  row(['peak RSS (VmHWM)', mib(cold.vmHwm.p50), mib(cold.vmHwm.p95), String(cold.vmHwm.n)]);
  L.push('');
  const s = results.python?.sessions;
  if (!s) return;
  L.push('### CPython agent sessions (one process, snapshot, warm cache)', '');
  if (s.error) { L.push(`error: ${s.error}`, ''); return; }
  L.push(`A tool round trip is (a turn calling \`tools.echo\` 500 times − the same loop calling a local function) / 500, in pairs run back to back.`, '');
  head(['what', 'P50', 'P95', 'n']);
  for (const [name, k] of [['open a session (incl. its prelude turn)', 'open'], ['open + first turn `x = 41`', 'openFirstTurn'], ['warm turn `x + 1`', 'turn'], ['one-shot `print(6*7)` (a fresh interpreter)', 'oneShot'], ['tool round trip', 'toolRoundTrip']]) {
    row([name, fmtMs(s[k].p50), fmtMs(s[k].p95), String(s[k].n)]);
  }
  L.push('');
}

function rssSection(results, b, guestKeys) {
  const rss = results.rss;
  if (!Object.keys(rss).length) return;
  const { L, row, head } = b;
  const base = rss.baseline ?? {};
  L.push('### Peak RSS (fresh process per scenario)', '');
  L.push(`VmHWM of the process. Baselines: node + package imported ${mib(base.package?.vmHwmKiB)}; bare node ${mib(base.node?.vmHwmKiB)}. CLI: one \`wasmtime run\` process (\`/usr/bin/time -f %M\`).`, '');
  const bs = ['native', 'js', 'node-wasi', 'cli'].filter((k) => guestKeys.some((g) => rss[g]?.[k]));
  head(['guest', 'runs (in flight)', ...bs.map((k) => SHORT[k])]);
  for (const g of guestKeys) {
    const r = rss[g]; if (!r) continue;
    row([g, `${r.runs} (${r.inflight})`, ...bs.map((k) => (r[k]?.error ? 'error' : mib(r[k]?.peakKiB)))]);
  }
  L.push('');
}

/**
 * The whole report. `charts`: chart name → file name (from report/charts.mjs);
 * `chartBase`: the path from the Markdown file to bench/charts/.
 */
export function markdown(results, targets, { charts = null, chartBase = 'charts/' } = {}) {
  const { env, notes = [] } = results;
  const all = makeGuests({ quick: env.quick, dataDir: '/nonexistent', write: false });
  const titles = Object.fromEntries(Object.entries(all).map(([k, g]) => [k, g.title]));
  const guestKeys = Object.keys(all).filter((g) => results.latency[g] || results.rss[g] || results.throughput[g]);
  const b = builder(chartBase, charts);
  const load = (s) => s?.split(' ').slice(0, 3).join(' ');
  b.L.push(`Measured ${env.startedAt.slice(0, 16).replace('T', ' ')} UTC at commit ${env.gitCommit ?? '?'}${env.sourceChanged ? ' (with uncommitted changes in src-rs/ or src-ts/)' : ''}, ${env.cpus} CPUs (${env.cpuModel}), Node ${env.node}, ${env.wasmtimeCli ?? 'no wasmtime CLI'}; load average ${load(env.loadavgStart)} at start, ${load(env.loadavgEnd)} at end; ${env.quick ? 'quick run (--quick)' : 'full run'}, ${env.durationSecs} s.`, '');
  latencySection(results, b, guestKeys, titles);
  coldSection(results, b);
  throughputSection(results, b);
  cpuSection(results, b);
  enginesSection(results, b);
  programsSection(results, b);
  pythonSection(results, b);
  rssSection(results, b, guestKeys);
  if (targets.length) {
    b.L.push('### Targets', '');
    b.head(['target', 'measured', 'met']);
    for (const t of targets) b.row([t.target, t.measured, t.met === null ? '(report)' : t.met ? 'yes' : 'no']);
    b.L.push('');
  }
  if (notes.length) b.L.push('Notes:', ...notes.map((n) => `- ${n}`), '');
  return b.L.join('\n');
}
