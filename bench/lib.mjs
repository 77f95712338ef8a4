// Shared pieces of the bench: backends ("runners"), statistics, formatting.
// Plain ESM, no build step: it imports the package's own dist/esm.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, delimiter } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const root = join(benchDir, '..');
export const guestsDir = join(root, 'test', 'guests');

export const now = () => performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ package


/**
 * Imports dist/esm/index.js. Other tools rebuild dist/ in place (it is wiped
 * for a moment), so a failed import is retried; if dist/ never appears it is
 * built once with scripts/build-ts.mjs.
 */
export async function importPackage({ build = true, entry = 'index.js' } = {}) {
  const distEntry = join(root, 'dist', 'esm', entry);
  let lastError;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (existsSync(distEntry)) {
      try {
        // A query string defeats the ESM loader's cache of a failed attempt.
        return await import(`${pathToFileURL(distEntry).href}${attempt ? `?retry=${attempt}` : ''}`);
      } catch (e) {
        lastError = e;
      }
    } else if (attempt === 10 && build) {
      process.stderr.write('bench: dist/esm/index.js is missing: building the TypeScript (node scripts/build-ts.mjs)\n');
      const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-ts.mjs')], { cwd: root, stdio: 'inherit' });
      if (r.status !== 0) throw new Error('bench: `node scripts/build-ts.mjs` failed; run `npm run build:ts` and retry');
    }
    await sleep(500);
  }
  throw new Error(`bench: cannot import ${join('dist', 'esm', entry)}: ${lastError?.message ?? 'file missing'} (run \`npm run build:ts\`)`);
}

// ------------------------------------------------------------------ runners
//
// A runner executes one guest run and resolves with
// { wallMs, internalMs?, exitCode, stdout (string, maybe cut), stdoutBytes }.

/**
 * SandboxConfig for the package's backends in the bench: defaults, plus room
 * for 8 executes at once and, for the guests that read files (`needsData`),
 * the data dir preopened read-only as /data; every engine gets the preopen
 * for those guests only. The output cap stays at its default (1 MiB), which
 * the 1 MiB-output guest fills exactly.
 */
export function sandboxConfig(dataDir, extra = {}) {
  return {
    maxConcurrency: 8,
    ...(dataDir ? { fsReadonly: [{ host: dataDir, guest: '/data' }] } : {}),
    ...extra,
  };
}

export function packageRunner(pkg, backend, config) {
  const sb = pkg.createSandbox(config, { backend });
  return {
    kind: backend,
    sandbox: sb,
    async run(guest, args) {
      const t0 = now();
      const r = await sb.execute([guest.wasm, ...args]);
      const wallMs = now() - t0;
      return { wallMs, internalMs: r.elapsedMs, exitCode: r.exitCode, error: r.error, stdout: r.stdout.subarray(0, 4096).toString(), stdoutBytes: r.stdoutBytes, fuel: r.fuelConsumed };
    },
    close: () => sb.destroy(),
  };
}

/** The `fuel: N` of the "fixed fuel" rows: a budget no bench guest uses up (≈ 100 s at 10 G/s). */
export const FIXED_FUEL = 1e12;

/**
 * CPython through mimobox-wasm/python (`createPython(config)`): one runner,
 * `args[0]` is the code, each run a fresh interpreter. Uses the default
 * on-disk cache, so the ~250 MB compiled interpreter is kept across bench runs.
 */
export async function pythonRunner(config) {
  const { createPython } = await importPackage({ build: false, entry: join('python', 'index.js') });
  const py = await createPython(config);
  return {
    kind: 'python',
    async run(guest, args) {
      const t0 = now();
      const r = await py.run(args[0], guest.runOptions ?? {});
      const wallMs = now() - t0;
      return { wallMs, internalMs: r.elapsedMs, exitCode: r.exitCode, error: r.error ?? (r.exitCode ? r.stderr.toString().trim().split('\n').pop() : undefined), stdout: r.stdout.subarray(0, 4096).toString(), stdoutBytes: r.stdoutBytes, fuel: r.fuelConsumed };
    },
    close: () => py.destroy(),
  };
}

/**
 * The native backend's load/run API, when the package has it:
 * `sandbox.load(path) -> handle; handle.run(args, opts)`.
 */
export async function handleRunner(pkg, config) {
  const sb = pkg.createSandbox(config, { backend: 'native' });
  if (typeof sb.load !== 'function') {
    await sb.destroy();
    return null;
  }
  const handles = new Map();
  return {
    kind: 'native-handle',
    async run(guest, args) {
      let h = handles.get(guest.wasm);
      if (!h) {
        h = await sb.load(guest.wasm);
        handles.set(guest.wasm, h);
      }
      const t0 = now();
      const r = await h.run(args);
      const wallMs = now() - t0;
      return { wallMs, internalMs: r.elapsedMs, exitCode: r.exitCode, error: r.error, stdout: r.stdout.subarray(0, 4096).toString(), stdoutBytes: r.stdoutBytes };
    },
    close: () => sb.destroy(),
  };
}

/**
 * Node's own node:wasi, in-process, no limits and no isolation: the floor for
 * V8. Modules are compiled once and kept; each run is a fresh WASI +
 * instance. Output goes to /dev/null (not captured) except when `capture`.
 */
export function nodeWasiRunner(dataDir) {
  const modules = new Map();
  const devnull = openSync('/dev/null', 'w');
  // Node 20's node:wasi segfaults after ~1,000-2,000 back-to-back WASI runs
  // when nothing has collected the old instances (each holds a ~10 GiB memory
  // reservation); a full GC every 100 runs avoids it. The GC is timed in.
  // Loaded here, not imported: node:wasi warns when it loads, and quiet.mjs must be active first.
  const { WASI } = createRequire(import.meta.url)('node:wasi');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  let count = 0;
  const runSync = (guest, args, capture) => {
    const t0 = now();
    if (++count % 100 === 0) gc();
    let mod = modules.get(guest.wasm);
    if (!mod) {
      mod = new WebAssembly.Module(readFileSync(guest.wasm));
      modules.set(guest.wasm, mod);
    }
    let outPath; let outFd = devnull;
    if (capture) {
      outPath = join(dataDir, `..`, `nodewasi-out-${process.pid}.txt`);
      outFd = openSync(outPath, 'w');
    }
    try {
      const wasi = new WASI({
        // Node 20 never closes a preopen's fd (one leaked fd per instance), so only where needed.
        version: 'preview1', args: [guest.wasm, ...args], env: {}, preopens: guest.needsData ? { '/data': dataDir } : {},
        returnOnExit: true, stdout: outFd, stderr: devnull,
      });
      const inst = new WebAssembly.Instance(mod, wasi.getImportObject());
      const exitCode = wasi.start(inst);
      const wallMs = now() - t0;
      let stdout = ''; let stdoutBytes = 0;
      if (capture) {
        const buf = readFileSync(outPath);
        stdout = buf.subarray(0, 4096).toString();
        stdoutBytes = buf.length;
      }
      return { wallMs, exitCode, stdout, stdoutBytes };
    } finally {
      if (capture) { closeSync(outFd); rmSync(outPath, { force: true }); }
    }
  };
  return {
    kind: 'node-wasi',
    sync: true,
    async run(guest, args, { capture = false } = {}) { return runSync(guest, args, capture); },
    close: async () => closeSync(devnull),
  };
}

// ------------------------------------------------------------------ wasmtime CLI

/** The wasmtime CLI: $WASMTIME, bench/.tools/bin/wasmtime (bench/setup.sh), or PATH. */
export function findWasmtime() {
  const candidates = [];
  if (process.env.WASMTIME) candidates.push(process.env.WASMTIME);
  candidates.push(join(benchDir, '.tools', 'bin', 'wasmtime'));
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d) candidates.push(join(d, 'wasmtime'));
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { path: c, version: r.stdout.trim() };
  }
  return null;
}

/** Extra CLI flags of the limit modes: the same checks our native backend compiles in. */
export const CLI_MODES = {
  cli: { compile: [], run: [] },
  // Epoch interruption, with a deadline far away (the CLI's own --timeout uses epochs).
  'cli-epoch': { compile: ['-W', 'epoch-interruption=y'], run: ['-W', 'timeout=86400s'] },
  // Fuel metering with a budget that never runs out.
  'cli-fuel': { compile: ['-W', 'fuel=1000000000000000'], run: ['-W', 'fuel=1000000000000000'] },
};

/**
 * One `wasmtime run` process per run. With `precompiled`, the guest was
 * compiled ahead (`wasmtime compile`) and is run with --allow-precompiled,
 * the CLI's equivalent of our on-disk cache hit; otherwise it compiles the
 * .wasm in every process (its cache off). `mode` picks extra limit flags
 * (CLI_MODES).
 */
export function cliRunner(wasmtime, dataDir, workDir, { precompiled = true, mode = 'cli' } = {}) {
  const flags = CLI_MODES[mode];
  const compiled = new Map();
  const artefact = (guest) => {
    if (!precompiled) return guest.wasm;
    let p = compiled.get(guest.wasm);
    if (!p) {
      p = join(workDir, `${guest.wasm.split('/').pop()}.${mode}.cwasm`);
      execFileSync(wasmtime.path, ['compile', ...flags.compile, '-o', p, guest.wasm]);
      compiled.set(guest.wasm, p);
    }
    return p;
  };
  return {
    kind: precompiled ? mode : `${mode}-nocache`,
    argv(guest, args) {
      const out = ['run', '-C', 'cache=n', ...flags.run, ...(guest.needsData ? ['--dir', `${dataDir}::/data`] : [])];
      if (precompiled) out.push('--allow-precompiled');
      out.push(artefact(guest), ...args);
      return out;
    },
    run(guest, args) {
      const argv = this.argv(guest, args);
      return new Promise((resolve, reject) => {
        const t0 = now();
        const child = spawn(wasmtime.path, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
        const chunks = []; let bytes = 0; let err = '';
        child.stdout.on('data', (c) => { bytes += c.length; if (bytes <= 4096 + c.length) chunks.push(c); });
        child.stderr.on('data', (c) => { err += c; });
        child.on('error', reject);
        child.on('close', (code) => {
          const wallMs = now() - t0;
          resolve({ wallMs, exitCode: code, error: err.trim().split('\n')[0] || undefined, stdout: Buffer.concat(chunks).subarray(0, 4096).toString(), stdoutBytes: bytes });
        });
      });
    },
    close: async () => {},
  };
}

// ------------------------------------------------------------------ statistics

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), min: s[0], max: s[s.length - 1], mean };
}

/** "123 µs", "4.56 ms", "1.23 s". */
export function fmtMs(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '—';
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.1 ? 1 : 0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function fmtRatio(r) {
  if (r === undefined || r === null || !Number.isFinite(r)) return '—';
  return `${r.toFixed(r < 10 ? 2 : r < 100 ? 1 : 0)}×`;
}

export function fmtRate(r) {
  if (r === undefined || r === null || !Number.isFinite(r)) return '—';
  return r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toFixed(1);
}

export function loadavg() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim();
  } catch {
    return null;
  }
}

export function makeTempDirs() {
  const base = mkdtempSync(join(tmpdir(), 'mimobox-bench-'));
  const dataDir = join(base, 'data');
  const cacheDir = join(base, 'cache');
  const workDir = join(base, 'work');
  for (const d of [dataDir, cacheDir, workDir]) execFileSync('mkdir', ['-p', d]);
  return { base, dataDir, cacheDir, workDir, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
