// Agent-session figures on CPython, in one process (bench/child.mjs mode
// 'python-session'): opening a session, a warm turn against a one-shot run,
// and a tool's round trip from Python to Node and back.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { summarize } from './lib.mjs';

const now = () => performance.now();
const CALLS = 500;

async function timed(fn) {
  const t = now();
  const r = await fn();
  return [now() - t, r];
}

function check(r, what) {
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}: ${r.stderr.toString().slice(-300)}`);
  return r;
}

/** { open, openFirstTurn, turn, oneShot, toolRoundTrip }: summaries in ms. */
export async function pythonSession(spec) {
  const entry = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'esm', 'python', 'index.js')).href;
  const { createPython } = await import(entry);
  const runner = await createPython(spec.config ?? {});
  try {
    const open = []; const openFirstTurn = []; const turn = []; const oneShot = []; const withTools = []; const without = [];
    for (let i = 0; i < spec.openSamples; i++) {
      const t = now();
      const s = await runner.openSession();
      open.push(now() - t);
      check(await s.run('x = 41'), 'first turn');
      openFirstTurn.push(now() - t);
      await s.close();
    }
    const s = await runner.openSession();
    check(await s.run('x = 41'), 'x = 41');
    for (let i = 0; i < spec.turnSamples; i++) {
      const [ms, r] = await timed(() => s.run('x + 1'));
      if (r.value !== '42') throw new Error(`x + 1 gave ${r.value}`);
      turn.push(ms);
    }
    await s.close();
    for (let i = 0; i < spec.oneShotSamples; i++) oneShot.push((await timed(async () => check(await runner.run('print(6*7)'), 'print')))[0]);
    const echo = { name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] }, handler: ({ text }) => text };
    const t = await runner.openSession({ tools: [echo], maxCallsPerTurn: CALLS + 10 });
    check(await t.run('from host import tools\ndef local(text):\n    return text'), 'tools');
    // The same loop with the tool and with a local function: the difference is the round trip.
    for (let i = 0; i < spec.toolSamples; i++) {
      withTools.push((await timed(async () => check(await t.run(`for _ in range(${CALLS}):\n    tools.echo(text="x")`), 'tool loop')))[0]);
      without.push((await timed(async () => check(await t.run(`for _ in range(${CALLS}):\n    local(text="x")`), 'local loop')))[0]);
    }
    await t.close();
    const perCall = withTools.map((w, i) => (w - without[i]) / CALLS);
    return {
      open: summarize(open), openFirstTurn: summarize(openFirstTurn), turn: summarize(turn), oneShot: summarize(oneShot),
      toolRoundTrip: summarize(perCall),
    };
  } finally {
    await runner.destroy();
  }
}
