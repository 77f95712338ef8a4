// Measurements in a fresh Node process, spawned by run.mjs: cold start and
// peak RSS need a process with nothing loaded or cached in memory, and each
// backend's suite (latency, CPU modes, throughput) runs in its own process.
//
//   node bench/child.mjs '<json spec>'   -> prints one JSON line on stdout
//
// spec.mode: 'suite' (see measure.mjs runSuite), 'cold', 'rss', 'baseline'
// 'python-cold' or 'python-session'; for cold/rss: { backend: 'native' | 'js' | 'node-wasi',
// config, wasm, args, runs, inflight, dataDir }; for python-cold: { config, code }.
import './quiet.mjs';
import { openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const spec = JSON.parse(process.argv[2]);
const now = () => performance.now();

function vmHwmKiB() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function nodeWasiRun(wasm, args, dataDir, devnull, mod) {
  const { WASI } = createRequire(import.meta.url)('node:wasi');
  const m = mod ?? new WebAssembly.Module(readFileSync(wasm));
  const wasi = new WASI({ version: 'preview1', args: [wasm, ...args], env: {}, preopens: spec.needsData ? { '/data': dataDir } : {}, returnOnExit: true, stdout: devnull, stderr: devnull });
  const inst = new WebAssembly.Instance(m, wasi.getImportObject());
  const code = wasi.start(inst);
  if (code !== 0) throw new Error(`exit ${code}`);
  return m;
}

async function main() {
  if (spec.mode === 'suite') {
    const { runSuite } = await import('./measure.mjs');
    const { fmtMs, fmtRate } = await import('./lib.mjs');
    const log = (task, r) => {
      const what = r.error ? `ERROR ${r.error}` : r.skipped ? 'skipped'
        : task.type === 'latency' ? `p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}  n=${r.n}`
          : task.type === 'cpu' || task.type === 'program' ? Object.entries(r).map(([k, v]) => `${k} ${fmtMs(v.big.p50)}${v.small ? `/${fmtMs(v.small.p50)}` : ''}`).join('  ')
            : Object.entries(r).map(([n, v]) => `${n}: ${v ? `${fmtRate(v.perSec)}/s` : '—'}`).join('  ');
      process.stderr.write(`  ${task.type.padEnd(10)} ${task.guest.padEnd(9)} ${(task.runner ?? task.runners.join(',')).padEnd(14)} ${what}\n`);
    };
    const results = await runSuite(spec, log);
    return { results, vmHwmKiB: vmHwmKiB() };
  }
  if (spec.mode === 'python-cold') return pythonCold();
  if (spec.mode === 'python-session') return (await import('./python-session.mjs')).pythonSession(spec);
  const out = {};
  const t0 = now();
  let pkg;
  if (spec.backend !== 'node-wasi') {
    const { importPackage } = await import('./lib.mjs');
    const t = now();
    pkg = await importPackage({ build: false });
    out.importMs = now() - t;
  }
  if (spec.mode === 'baseline') {
    out.maxRssKiB = process.resourceUsage().maxRSS;
    out.vmHwmKiB = vmHwmKiB();
    return out;
  }
  const devnull = spec.backend === 'node-wasi' ? openSync('/dev/null', 'w') : undefined;

  if (spec.mode === 'cold') {
    // From "nothing" to the first result: new sandbox + first execute.
    // The bench's own helpers are imported before the clock starts.
    const native = spec.backend === 'native'
      ? await (await import('./lib.mjs')).importPackage({ build: false, entry: 'native/addon.js' })
      : undefined;
    const t1 = now();
    if (spec.backend === 'node-wasi') {
      nodeWasiRun(spec.wasm, spec.args, spec.dataDir, devnull);
      out.coldMs = now() - t1;
    } else {
      if (native) {
        // Break-down: loading the addon (dlopen) is part of the first sandbox.
        native.loadNativeBinding();
        out.addonMs = now() - t1;
      }
      const t2 = now();
      const sb = pkg.createSandbox(spec.config, { backend: spec.backend });
      out.createMs = now() - t2;
      const t3 = now();
      const r = await sb.execute([spec.wasm, ...spec.args]);
      out.firstExecMs = now() - t3;
      out.coldMs = now() - t1;
      out.exitCode = r.exitCode;
      out.log = undefined;
      // A second execute in the same process: the hot path right after start.
      const t4 = now();
      await sb.execute([spec.wasm, ...spec.args]);
      out.secondMs = now() - t4;
      await sb.destroy();
    }
    out.sinceStartMs = now() - t0;
    return out;
  }

  if (spec.mode === 'rss') {
    // `runs` executes with `inflight` outstanding, after one warm-up.
    if (spec.backend === 'node-wasi') {
      let mod;
      for (let i = 0; i < spec.runs + 1; i++) mod = nodeWasiRun(spec.wasm, spec.args, spec.dataDir, devnull, mod);
    } else {
      const sb = pkg.createSandbox(spec.config, { backend: spec.backend });
      const first = await sb.execute([spec.wasm, ...spec.args]);
      if (first.exitCode !== 0) throw new Error(`exit ${first.exitCode}: ${first.error ?? first.stderr.toString()}`);
      let left = spec.runs;
      const lane = async () => {
        while (left > 0) {
          left--;
          await sb.execute([spec.wasm, ...spec.args]);
        }
      };
      await Promise.all(Array.from({ length: spec.inflight }, lane));
      out.vmHwmBeforeDestroyKiB = vmHwmKiB();
      await sb.destroy();
    }
    out.maxRssKiB = process.resourceUsage().maxRSS;
    out.vmHwmKiB = vmHwmKiB();
    return out;
  }
  throw new Error(`unknown mode ${spec.mode}`);
}

/**
 * A new process's first Python result, in parts: node's own start (process
 * start to this point, before any bench code beyond quiet.mjs), importing
 * mimobox-wasm/python, createPython (on a cache hit: stat the wasm, find its
 * hash in the on-disk fingerprint index, map the .cwasm), the first run.
 * Then the process's peak RSS.
 */
async function pythonCold() {
  const bootMs = now(); // performance.now() counts from the process's start
  const { pathToFileURL } = await import('node:url');
  const { join } = await import('node:path');
  const entry = pathToFileURL(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'dist', 'esm', 'python', 'index.js')).href;
  const t1 = now();
  const { createPython } = await import(entry);
  const t2 = now();
  const py = await createPython(spec.config);
  const t3 = now();
  const r = await py.run(spec.code);
  const t4 = now();
  const out = {
    bootMs, importMs: t2 - t1, createMs: t3 - t2, firstRunMs: t4 - t3, coldMs: t4 - t1,
    exitCode: r.exitCode, stdout: r.stdout.toString().slice(0, 200), stderr: r.exitCode ? r.stderr.toString().slice(-300) : undefined,
  };
  await py.destroy();
  out.vmHwmKiB = vmHwmKiB();
  return out;
}

main().then(
  (out) => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    process.exit(0);
  },
  (e) => {
    process.stdout.write(`${JSON.stringify({ error: String(e?.stack ?? e) })}\n`);
    process.exit(1);
  },
);
