// CPython (mimobox-wasm/python) rows: a new process's first result and its
// parts, its peak RSS, and the hot runs in the native modes.
import { fmtMs, summarize } from '../lib.mjs';
import { child } from './spawn.mjs';
import { pythonPrograms } from './programs.mjs';

const CODE = 'print(6*7)';

/** Fills results.python (cold process) and results.programs['py-*'] (hot), or notes why not. */
export async function sectionPython(c) {
  if (!process.env.MIMOBOX_PYTHON_HOME) {
    c.notes.push('CPython rows skipped: MIMOBOX_PYTHON_HOME is not set (export MIMOBOX_PYTHON_HOME=$(bash scripts/fetch-python.sh))');
    c.log('bench: CPython rows skipped (MIMOBOX_PYTHON_HOME is not set)');
    return;
  }
  if (!c.nativeOk) {
    c.notes.push('CPython rows skipped: they need the native backend');
    return;
  }
  c.log('bench: CPython, a new process per sample: import + createPython + first print(6*7) (default on-disk cache)');
  // The first process compiles the interpreter if the cache does not have it yet.
  const prefill = await child({ mode: 'python-cold', config: {}, code: CODE });
  if (prefill.error || prefill.exitCode !== 0 || prefill.stdout !== '42\n') {
    const why = prefill.error ?? `exit ${prefill.exitCode}: ${prefill.stderr ?? JSON.stringify(prefill.stdout)}`;
    c.results.python.cold = { error: why };
    c.notes.push(`CPython cold start: ${why}`);
  } else {
    const parts = { bootMs: [], importMs: [], createMs: [], firstRunMs: [], coldMs: [], processWallMs: [], vmHwmKiB: [] };
    let error;
    for (let i = 0; i < c.budget.pythonColdSamples && !error; i++) {
      const r = await child({ mode: 'python-cold', config: {}, code: CODE });
      if (r.error || r.stdout !== '42\n') { error = r.error ?? `stdout ${JSON.stringify(r.stdout)}`; break; }
      for (const k of Object.keys(parts)) parts[k].push(r[k]);
    }
    c.results.python.cold = error ? { error } : Object.fromEntries(Object.entries(parts).map(([k, v]) => [k.replace(/(Ms|KiB)$/, ''), summarize(v)]));
    const p = c.results.python.cold;
    c.log(`  python     cold      ${error ? `ERROR ${error}` : `p50 ${fmtMs(p.cold.p50)} (import ${fmtMs(p.import.p50)}, createPython ${fmtMs(p.create.p50)}, first run ${fmtMs(p.firstRun.p50)}; process ${fmtMs(p.processWall.p50)}, peak RSS ${(p.vmHwm.p50 / 1024).toFixed(0)} MiB)`}`);
  }
  c.log('bench: CPython agent sessions: opening one, a warm turn, a tool round trip (one process)');
  const sessions = await child({ mode: 'python-session', config: {}, ...c.budget.session });
  c.results.python.sessions = sessions.error ? { error: sessions.error } : sessions;
  if (sessions.error) c.notes.push(`CPython sessions: ${sessions.error}`);
  else c.log(`  python     session   open p50 ${fmtMs(sessions.open.p50)} (+ first turn ${fmtMs(sessions.openFirstTurn.p50)}), turn \`x + 1\` p50 ${fmtMs(sessions.turn.p50)} vs one-shot print ${fmtMs(sessions.oneShot.p50)}, tool round trip p50 ${fmtMs(sessions.toolRoundTrip.p50)}`);
  c.log('bench: CPython hot runs (the epoch-only artefact is compiled once if the cache lacks it: minutes)');
  await pythonPrograms(c);
}
