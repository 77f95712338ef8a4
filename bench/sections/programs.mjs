// Real programs (interpreters): the SQLite shell on every backend, CPython on
// the native modes. All modes of one program run in one fresh process,
// interleaved round-robin, so their ratios are measured side by side.
import { child } from './spawn.mjs';
import { LABEL } from './labels.mjs';

/** Runs one program's modes; stores results.programs[key]. */
async function program(c, key, runners) {
  const guest = c.programs[key];
  c.log(`bench: ${guest.title}: ${runners.join(', ')} (fresh process, interleaved)`);
  const r = await child({ mode: 'suite', ctx: c.ctx, quick: c.quick, budget: c.budget, inflight: c.inflight, tasks: [{ type: 'program', runners, guest: key }] }, { progress: true });
  const res = r.error ? { error: r.error } : r.results[0].result;
  const row = { title: guest.title, short: guest.short, args: guest.args, smallArgs: guest.smallArgs, python: !!guest.python };
  if (res.error) {
    c.notes.push(`${guest.title}: ${res.error}`);
    for (const k of runners) row[k] = { label: LABEL[k], big: { error: res.error } };
  } else {
    for (const [k, v] of Object.entries(res)) {
      row[k] = { label: LABEL[k], big: v.big, small: v.small, computeMs: v.small ? v.big.p50 - v.small.p50 : v.big.p50 };
    }
  }
  c.results.programs[key] = row;
}

/** The SQLite shell: native default / epoch-only / fixed fuel, pure-JS, node:wasi. */
export async function sectionPrograms(c) {
  const runners = [];
  if (c.nativeOk) runners.push('native', 'native-epoch', 'native-fuel');
  if (c.want('js')) runners.push('js');
  if (c.want('node-wasi')) runners.push('node-wasi');
  if (runners.length) await program(c, 'sqlite', runners);
}

/**
 * CPython hot runs (one runner, one fresh interpreter per run) in the native
 * modes. The epoch-only engine compiles its own ~250 MB artefact the first
 * time (minutes on 2 cores; then cached on disk).
 */
export async function pythonPrograms(c) {
  for (const key of ['py-print', 'py-print-finalize', 'py-numpy']) await program(c, key, ['native', 'native-epoch', 'native-fuel']);
}
