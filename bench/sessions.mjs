// Sessions and the host door, per backend, on test/guests/wat/session.wasm:
// opening a session (after a pause, and back to back), a warm call of a tiny
// export, a host.call round trip inside a call, and a one-shot execute of the
// same export for comparison. Backends without sessions yet are skipped.
// Prints a Markdown table and writes bench/sessions.json.
//   node bench/sessions.mjs [--quick]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, fmtMs, guestsDir, importPackage, loadavg, sleep, summarize } from './lib.mjs';

const quick = process.argv.includes('--quick');
const N = { opens: quick ? 8 : 20, calls: quick ? 500 : 3000, executes: quick ? 100 : 500 };
const guest = join(guestsDir, 'wat', 'session.wasm');
const pkg = await importPackage();

async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function measure(backend) {
  const sb = pkg.createSandbox({ hostCall: (req) => req }, { backend });
  try {
    const first = await sb.openSession(guest).catch((e) => e);
    if (first instanceof Error) return { backend, skipped: first.message };
    await first.close();
    const paused = [];
    const backToBack = [];
    for (let i = 0; i < N.opens; i++) {
      // A pause, as between an agent's conversations (the JS backend's spare thread is ready by then).
      await sleep(300);
      let s;
      paused.push(await time(async () => (s = await sb.openSession(guest))));
      await s.close();
      backToBack.push(await time(async () => (s = await sb.openSession(guest))));
      await s.close();
    }
    const s = await sb.openSession(guest);
    const calls = [];
    const asks = [];
    for (let i = 0; i < N.calls; i++) calls.push(await time(() => s.call('bump')));
    for (let i = 0; i < N.calls; i++) asks.push(await time(() => s.call('ask', { input: 'ping' })));
    await s.close();
    const executes = [];
    for (let i = 0; i < N.executes; i++) executes.push(await time(() => sb.execute([guest], { entry: 'bump' })));
    return {
      backend,
      openAfterPause: summarize(paused), openBackToBack: summarize(backToBack),
      call: summarize(calls), hostRoundTrip: summarize(asks), execute: summarize(executes),
    };
  } finally {
    await sb.destroy();
  }
}

const rows = [];
for (const backend of ['native', 'js']) rows.push(await measure(backend));
console.log(`\nSessions and host.call (session.wasm; P50 / P99; load average ${loadavg()})\n`);
console.log('| backend | open (after 300 ms) | open (back to back) | warm call `bump` | call with one host.call (`ask`) | one-shot execute of `bump` |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  if (r.skipped) {
    console.log(`| ${r.backend} | skipped: ${r.skipped} | | | | |`);
    continue;
  }
  const cell = (x) => `${fmtMs(x.p50)} / ${fmtMs(x.p99)}`;
  console.log(`| ${r.backend} | ${cell(r.openAfterPause)} | ${cell(r.openBackToBack)} | ${cell(r.call)} | ${cell(r.hostRoundTrip)} | ${cell(r.execute)} |`);
}
writeFileSync(join(benchDir, 'sessions.json'), `${JSON.stringify({ date: new Date().toISOString(), quick, n: N, loadavg: loadavg(), rows }, null, 2)}\n`);
