// The in-process measurements (latency, CPU-bound modes, throughput). They run
// inside bench/child.mjs, one fresh process per backend, so that one
// backend's threads, workers and garbage do not slow down the next one.
import {
  now, importPackage, sandboxConfig, packageRunner, handleRunner, nodeWasiRunner, cliRunner, pythonRunner, summarize, FIXED_FUEL,
} from './lib.mjs';
import { makeGuests, makePrograms } from './guests/index.mjs';

/**
 * Runner factories by key. ctx: { dataDir, cacheDir, workDir, wasmtimePath, wasmtimeVersion }.
 */
export function runnerFactories(pkg, ctx) {
  const data = (guest) => (guest.needsData ? ctx.dataDir : null);
  const cfg = (guest, extra) => sandboxConfig(data(guest), { cacheDir: ctx.cacheDir, ...extra });
  // CPython guests run through mimobox-wasm/python in the same native modes.
  const native = (extra) => async (guest) => (guest.python ? pythonRunner(extra) : packageRunner(pkg, 'native', cfg(guest, extra)));
  return {
    native: native({}),
    'native-epoch': native({ fuel: null }),
    'native-fuel': native({ fuel: FIXED_FUEL }),
    'native-handle': async (guest) => handleRunner(pkg, cfg(guest)),
    'native-worker': async (guest) => packageRunner(pkg, 'native', cfg(guest, { inline: false })),
    'native-nolimits': async (guest) => packageRunner(pkg, 'native', cfg(guest, { fuel: null, timeoutSecs: 86400, memoryLimitMb: 4096 })),
    js: async (guest) => packageRunner(pkg, 'js', sandboxConfig(data(guest))),
    'node-wasi': async () => nodeWasiRunner(ctx.dataDir),
    cli: async () => cliRunner({ path: ctx.wasmtimePath }, ctx.dataDir, ctx.workDir),
    'cli-epoch': async () => cliRunner({ path: ctx.wasmtimePath }, ctx.dataDir, ctx.workDir, { mode: 'cli-epoch' }),
    'cli-fuel': async () => cliRunner({ path: ctx.wasmtimePath }, ctx.dataDir, ctx.workDir, { mode: 'cli-fuel' }),
  };
}

/** Runs once and checks the output; throws with a readable reason. */
export async function checkedRun(runner, guest, args) {
  const r = await runner.run(guest, args, { capture: true });
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}${r.error ? `: ${r.error}` : ''}`);
  if (args === guest.args) {
    const bad = guest.check(r.stdout, r.stdoutBytes);
    if (bad) throw new Error(`wrong output: ${bad}`);
  }
  return r;
}

async function warm(runner, guest, args, budget) {
  const t = now();
  let n = 0;
  const min = budget.minWarm ?? 2;
  while (n < min || (now() - t < budget.warmMs && n < 1000)) { await runner.run(guest, args); n++; }
}

function finish(wall, internal, fuel, args) {
  return {
    ...summarize(wall),
    internalP50: internal.length ? summarize(internal).p50 : undefined,
    fuel: fuel.length ? fuel[0] : undefined,
    args,
  };
}

/** Sequential hot runs: wall time from the JS call to the resolved promise. */
export async function latency(runner, guest, args, windowMs, budget) {
  await checkedRun(runner, guest, args);
  await warm(runner, guest, args, budget);
  const wall = []; const internal = []; const fuel = [];
  const t = now();
  while ((now() - t < windowMs || wall.length < budget.minSamples) && wall.length < 20000) {
    const r = await runner.run(guest, args);
    if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode} during sampling`);
    wall.push(r.wallMs);
    if (r.internalMs !== undefined) internal.push(r.internalMs);
    if (r.fuel !== undefined) fuel.push(r.fuel);
  }
  return finish(wall, internal, fuel, args);
}

/**
 * Several runners (e.g. fuel on / epoch-only / no limits) on the same guest,
 * interleaved round-robin so that a change of machine load hits all alike.
 * Each round runs the big and (when the guest has one) the trivial input
 * once per runner.
 */
export async function interleaved(runners, guest, windowMs, budget) {
  const inputs = guest.smallArgs ? [['big', guest.args], ['small', guest.smallArgs]] : [['big', guest.args]];
  const acc = {};
  for (const [key, runner] of runners) {
    for (const [, args] of inputs) { await checkedRun(runner, guest, args); await warm(runner, guest, args, budget); }
    acc[key] = { big: { wall: [], internal: [], fuel: [] }, small: { wall: [], internal: [], fuel: [] } };
  }
  const t = now();
  let rounds = 0;
  while ((now() - t < windowMs * runners.length || rounds < budget.minSamples) && rounds < 20000) {
    for (const [key, runner] of runners) {
      for (const [which, args] of inputs) {
        const r = await runner.run(guest, args);
        if (r.exitCode !== 0) throw new Error(`${key}: exit ${r.exitCode} during sampling`);
        const a = acc[key][which];
        a.wall.push(r.wallMs);
        if (r.internalMs !== undefined) a.internal.push(r.internalMs);
        if (r.fuel !== undefined) a.fuel.push(r.fuel);
      }
    }
    rounds++;
  }
  const out = {};
  for (const [key, a] of Object.entries(acc)) {
    out[key] = {
      big: finish(a.big.wall, a.big.internal, a.big.fuel, guest.args),
      small: guest.smallArgs ? finish(a.small.wall, a.small.internal, a.small.fuel, guest.smallArgs) : undefined,
    };
  }
  return out;
}

/** Keeps `inflight` runs outstanding for the window, then drains; completions per second. */
export async function throughput(runner, guest, inflight, windowMs) {
  const args = guest.args;
  // Warm-up: enough to start every worker/thread the backend keeps.
  for (let i = 0; i < 2; i++) await Promise.all(Array.from({ length: inflight }, () => runner.run(guest, args)));
  let done = 0; let failed = 0;
  const t0 = now();
  const lane = async () => {
    while (now() - t0 < windowMs) {
      const r = await runner.run(guest, args);
      if (r.exitCode === 0) done++; else failed++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const secs = (now() - t0) / 1000;
  return { perSec: done / secs, done, failed, secs };
}

/**
 * One process's share of the bench (child.mjs mode 'suite'): one backend's
 * cells, or all modes of one real program. spec:
 * { ctx, quick, budget, inflight: [1,2,8], tasks: [
 *     { type: 'latency', runner, guest } | { type: 'cpu', runners: [...], guest }
 *   | { type: 'throughput', runner, guest } | { type: 'program', runners: [...], guest } ] }
 * A fresh runner (sandbox) is made for every task and destroyed after it.
 */
export async function runSuite(spec, log) {
  const needsPkg = spec.tasks.some((t) => (t.runners ?? [t.runner]).some((r) => r.startsWith('native') || r === 'js'));
  const pkg = needsPkg ? await importPackage({ build: false }) : null;
  const factories = runnerFactories(pkg, spec.ctx);
  const guests = { ...makeGuests({ quick: spec.quick, dataDir: spec.ctx.dataDir, write: false }), ...makePrograms({ quick: spec.quick }) };
  const B = spec.budget;
  const results = [];
  for (const task of spec.tasks) {
    const guest = guests[task.guest];
    const keys = task.runners ?? [task.runner];
    const runners = [];
    let res;
    try {
      for (const k of keys) {
        const r = await factories[k](guest);
        if (r) runners.push([k, r]);
      }
      if (runners.length === 0) res = { skipped: true };
      else if (task.type === 'latency') {
        res = await latency(runners[0][1], guest, guest.args, guest.cpu ? B.cpuWindowMs : B.windowMs, B);
      } else if (task.type === 'cpu') {
        res = await interleaved(runners, guest, B.cpuWindowMs, B);
      } else if (task.type === 'program') {
        // Real programs run for up to seconds: the checked run and one more to warm up
        // (V8 tiers the JS backend's code up only after a run), then a longer window.
        res = await interleaved(runners, guest, B.programWindowMs, { ...B, minWarm: 1, warmMs: 0, minSamples: B.programMinSamples });
      } else if (task.type === 'throughput') {
        const runner = runners[0][1];
        await checkedRun(runner, guest, guest.args);
        res = {};
        for (const n of spec.inflight) res[n] = runner.sync && n > 1 ? null : await throughput(runner, guest, n, B.tputMs);
      }
    } catch (e) {
      res = { error: String(e?.message ?? e).split('\n')[0] };
    } finally {
      for (const [, r] of runners) await r.close();
    }
    results.push({ ...task, result: res });
    log?.(task, res);
  }
  return results;
}

