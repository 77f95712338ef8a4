// Faults in the native backend's compiled-module cache (.cwasm). Whatever
// happens to the cache, each execute must still run the right code: the
// cache may only ever make things faster. Each case runs guests in fresh
// Node processes (a fresh in-memory module map), so the disk cache is used.
// Truncated and swapped artefacts are covered in test/native/native.test.ts
// ("compile once, load from disk in a new process, recompile a corrupt file",
// "another module's artefact under this module's name is refused").
import { spawn } from 'node:child_process';
import {
  chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { BACKENDS } from '../conformance/backends.js';
import { c, tempDir, wat } from '../conformance/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A specifier a child's `import` takes on every OS (a Windows path is not one). */
const dist = (file: string): string => pathToFileURL(join(ROOT, 'dist', 'esm', file)).href;

interface ChildRun {
  log: string[];
  outputs: string[];
  codes: (number | null)[];
  /** The child's effective uid while it ran the guests (-1 where there are no uids). */
  uid: number;
  /** The fuel probe's result (FUEL_PROBE), when one ran. */
  probe?: { exitCode: number | null; timedOut: boolean; fuelConsumed: number | null; error: string | null; stdout: string };
}

/**
 * Runs guests in a fresh Node process with a given cacheDir (and optional
 * fuel setting); resolves with their stdout/exit codes and the cache log.
 * With `asUid`, the child loads the addon and builds its sandbox, then drops
 * to that uid and gid (no supplementary groups) before running anything:
 * how a root test process checks what an ordinary user gets.
 */
function runInChild(cacheDir: string, guests: string[][], fuel: 'metered' | 'off' = 'off', asUid?: number, probe = false): Promise<ChildRun> {
  // The probe runs FUEL_PROBE on the same engine: with a budget of PROBE_FUEL
  // when metered (it must stop at exactly that count), without one when off
  // (it must run to its end). Code compiled for the other engine cannot do both.
  const probeRun = probe
    ? `const ps = new WasmSandbox({ cacheDir: ${JSON.stringify(cacheDir)}, ${fuel === 'metered' ? `fuel: ${PROBE_FUEL},` : ''} timeoutMs: 20000,
         logger: (level, m) => log.push(level + ': ' + m) });
       const pr = await ps.execute(${JSON.stringify(FUEL_PROBE)});
       await ps.destroy();
       probe = { exitCode: pr.exitCode, timedOut: pr.timedOut, fuelConsumed: pr.fuelConsumed ?? null, error: pr.error ?? null, stdout: pr.stdout.toString() };`
    : '';
  const script = `
    import { WasmSandbox } from ${JSON.stringify(dist('index.js'))};
    const log = [];
    const sb = new WasmSandbox({ cacheDir: ${JSON.stringify(cacheDir)}, ${fuel === 'metered' ? 'fuel: 1e12,' : ''} maxConcurrency: 4,
      logger: (level, m) => log.push(level + ': ' + m) });
    const asUid = ${JSON.stringify(asUid ?? null)};
    if (asUid !== null) {
      process.setgroups([]);
      process.setgid(asUid);
      process.setuid(asUid);
    }
    const rs = await Promise.all(${JSON.stringify(guests)}.map((cmd) => sb.execute(cmd)));
    await sb.destroy();
    let probe;
    ${probeRun}
    console.log(JSON.stringify({ log, outputs: rs.map((r) => r.stdout.toString()), codes: rs.map((r) => r.exitCode),
      uid: process.geteuid?.() ?? -1, probe }));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() as string) as ChildRun);
    });
  });
}

function cacheFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...cacheFiles(p));
    else out.push(p);
  }
  return out;
}

/** A guest whose fuel count is exact (test/conformance/fuel.test.ts: 'nbody 100000, out of fuel mid-run'). */
const FUEL_PROBE = [c('nbody'), '100000'];
const PROBE_FUEL = 5_000_000;
/** FUEL_PROBE's whole output when it runs to its end. */
const PROBE_DONE = /^-0\.169075164\n-0\.169\d+\n$/;

/** The guests every case runs: different modules, checked outputs. */
const GUESTS: string[][] = [[wat('hello')], [wat('main_only')], [c('exit_code'), '7'], [c('args_env'), 'x']];
function checkRight(r: ChildRun): void {
  expect(r.outputs[0]).toBe('hello, world\n');
  expect(r.codes[0]).toBe(0);
  expect(r.codes[1]).toBe(42);
  expect(r.codes[2]).toBe(7);
  expect(r.outputs[3]).toContain('argv[1]=x\n');
}

const describeNative = BACKENDS.includes('native') ? describe : describe.skip;

/** An unprivileged uid/gid for root to drop to (nobody/nogroup on Linux; no passwd entry is needed). */
const NOBODY = 65534;
const IS_ROOT = process.getuid?.() === 0;

/**
 * Copies of the guests into `dir` (which it makes world-searchable), so that
 * a child that dropped to NOBODY can read them whatever the checkout's modes.
 */
function guestsReadableByAll(dir: string): string[][] {
  chmodSync(dir, 0o755);
  const copies = join(dir, 'guests');
  mkdirSync(copies, { mode: 0o755 });
  return GUESTS.map(([path, ...args]) => {
    const copy = join(copies, basename(path as string));
    if (!existsSync(copy)) copyFileSync(path as string, copy);
    chmodSync(copy, 0o644);
    return [copy, ...args];
  });
}

describeNative('compiled-module cache faults [native]', () => {
  test('cache dir not writable (a file in the way): runs, warns, writes nothing', async () => {
    const dir = tempDir();
    try {
      const blocker = join(dir.path, 'not-a-dir');
      writeFileSync(blocker, 'x');
      const r = await runInChild(join(blocker, 'cache'), GUESTS);
      checkRight(r);
      expect(r.log.join('\n')).toMatch(/cache disabled/);
      expect(readdirSync(dir.path)).toEqual(['not-a-dir']);
    } finally {
      dir.cleanup();
    }
  });

  // Unix owners and mode bits; root (as CI runs) checks it through a child that drops to NOBODY.
  test.skipIf(process.platform === 'win32')('cache dir its owner may not write: runs, warns, writes nothing', async () => {
    const dir = tempDir();
    try {
      const guests = guestsReadableByAll(dir.path);
      const cache = join(dir.path, 'cache');
      mkdirSync(cache, { mode: 0o500 });
      chmodSync(cache, 0o500);
      if (IS_ROOT) chownSync(cache, NOBODY, NOBODY); // private to the user the child becomes
      const r = await runInChild(cache, guests, 'off', IS_ROOT ? NOBODY : undefined);
      expect(r.uid).toBe(IS_ROOT ? NOBODY : process.getuid?.());
      checkRight(r);
      expect(r.log.join('\n')).toMatch(/cache disabled: cannot create \S+: Permission denied/);
      expect(cacheFiles(cache)).toEqual([]);
    } finally {
      chmodSync(join(dir.path, 'cache'), 0o700);
      dir.cleanup();
    }
  });

  test.skipIf(process.platform === 'win32')('cache dir owned by another user: not trusted, compiles in memory, writes nothing', async () => {
    const dir = tempDir();
    try {
      const guests = guestsReadableByAll(dir.path);
      // Root: a 0700 root-owned dir, used by a child that dropped to NOBODY.
      // Anyone else: `/`, which root owns (and which they cannot make).
      const cache = IS_ROOT ? join(dir.path, 'cache') : '/';
      if (IS_ROOT) mkdirSync(cache, { mode: 0o700 });
      const r = await runInChild(cache, guests, 'off', IS_ROOT ? NOBODY : undefined);
      expect(r.uid).toBe(IS_ROOT ? NOBODY : process.getuid?.());
      checkRight(r);
      expect(r.log.join('\n')).toContain(`cache disabled: ${cache} is owned by uid 0, not by us (uid ${r.uid})`);
      expect(r.log.join('\n')).not.toMatch(/from cache|compiled and cached/);
      if (IS_ROOT) expect(cacheFiles(cache)).toEqual([]);
    } finally {
      dir.cleanup();
    }
  });

  test('cache dir deleted between runs and while compiling: recreated, right code', async () => {
    const dir = tempDir();
    try {
      const cache = join(dir.path, 'cache');
      checkRight(await runInChild(cache, GUESTS));
      expect(cacheFiles(cache).filter((f) => f.endsWith('.cwasm'))).toHaveLength(GUESTS.length);
      rmSync(cache, { recursive: true, force: true });
      const again = await runInChild(cache, GUESTS);
      checkRight(again);
      expect(again.log.join('\n')).toMatch(/compiled and cached/);
      // Delete it over and over while four processes compile and load.
      let deletions = 0;
      const reaper = setInterval(() => {
        try {
          rmSync(cache, { recursive: true, force: true });
          deletions++;
        } catch {
          // ENOTEMPTY: a child wrote a file while we emptied the dir. That race
          // is the point of the test; try again on the next tick.
        }
      }, 2);
      try {
        const runs = await Promise.all(Array.from({ length: 4 }, () => runInChild(cache, GUESTS)));
        runs.forEach(checkRight);
      } finally {
        clearInterval(reaper);
      }
      expect(deletions).toBeGreaterThan(0);
    } finally {
      dir.cleanup();
    }
  }, 60_000);

  test('four processes compiling the same modules at once: right code, one artefact each, no temp files left', async () => {
    const dir = tempDir();
    try {
      const cache = join(dir.path, 'cache');
      const runs = await Promise.all(Array.from({ length: 4 }, () => runInChild(cache, GUESTS)));
      runs.forEach(checkRight);
      const files = cacheFiles(cache);
      const artefacts = files.filter((f) => f.endsWith('.cwasm'));
      expect(artefacts).toHaveLength(GUESTS.length);
      // Beside each artefact: its record (.meta) and its compile lock; no temp files.
      for (const a of artefacts) expect(files).toContain(a.replace(/\.cwasm$/, '.meta'));
      expect(files.filter((f) => !/\.(cwasm|meta|lock|fp)$/.test(f))).toEqual([]);
      for (const f of files) expect(statSync(f).mode & 0o077).toBe(0);
      // The lock made the four processes share one compile of each module.
      const compiles = runs.flatMap((r) => r.log).filter((l) => /compiled and cached/.test(l));
      expect(compiles).toHaveLength(GUESTS.length);
      const warm = await runInChild(cache, GUESTS);
      checkRight(warm);
      expect(warm.log.filter((l) => /from cache/.test(l))).toHaveLength(GUESTS.length);
    } finally {
      dir.cleanup();
    }
  }, 60_000);

  // POSIX modes and symlinks: Windows has neither group/other write bits nor unprivileged symlinks.
  test.skipIf(process.platform === 'win32')('artefacts replaced by symlinks, made world-writable, or swapped with the other engine\'s: refused or still right', async () => {
    const dir = tempDir();
    try {
      const cache = join(dir.path, 'cache');
      // Each engine compiles the guests and the fuel probe, and behaves as its setting says.
      const checkProbe = (r: ChildRun, fuel: 'metered' | 'off') => {
        if (fuel === 'metered') {
          expect(r.probe).toMatchObject({ exitCode: null, timedOut: true, fuelConsumed: PROBE_FUEL });
          expect(r.probe?.error).toMatch(/^fuel budget exhausted/);
        } else {
          expect(r.probe).toMatchObject({ exitCode: 0, timedOut: false, fuelConsumed: null });
          expect(r.probe?.stdout).toMatch(PROBE_DONE);
        }
      };
      for (const fuel of ['metered', 'off'] as const) {
        const r = await runInChild(cache, GUESTS, fuel, undefined, true);
        checkRight(r);
        checkProbe(r, fuel);
      }
      const engines = readdirSync(cache).filter((d) => d.startsWith('wasmtime-')).map((d) => join(cache, d));
      expect(engines).toHaveLength(2);
      const [a, b] = engines as [string, string];
      const names = readdirSync(a).filter((n) => n.endsWith('.cwasm')).sort();
      expect(names).toHaveLength(GUESTS.length + 1);
      // Same module, same hash, from the other engine: valid artefacts, wrong settings.
      for (const n of names) copyFileSync(join(b, n), join(a, n));
      // One of the two engines now finds the other's artefacts under its names.
      // By behaviour: the metered engine still stops the probe at exactly its
      // budget, and the unmetered one still runs it to its end.
      const swapped: ChildRun[] = [];
      for (const fuel of ['metered', 'off'] as const) {
        const r = await runInChild(cache, GUESTS, fuel, undefined, true);
        checkRight(r);
        checkProbe(r, fuel);
        swapped.push(r);
      }
      // And by the log: the engine whose files were swapped compiles every
      // module again, while the other loads its own artefacts.
      const swapLog = swapped.flatMap((r) => r.log);
      const count = (re: RegExp) => swapLog.filter((l) => re.test(l)).length;
      expect(count(/^info: loaded .* from cache/), swapLog.join('\n')).toBe(GUESTS.length + 1);
      expect(count(/^info: compiled and cached /), swapLog.join('\n')).toBe(GUESTS.length + 1);
      // A symlink in place of an artefact, and an artefact others may write.
      const [first, second] = readdirSync(b).filter((n) => n.endsWith('.cwasm')).sort() as [string, string];
      rmSync(join(b, first));
      symlinkSync(join(a, first), join(b, first));
      chmodSync(join(b, second), 0o666);
      const hostile = [await runInChild(cache, GUESTS, 'metered'), await runInChild(cache, GUESTS, 'off')];
      hostile.forEach(checkRight);
      // Both the symlink and the world-writable artefact are refused (and recompiled).
      const ignored = hostile.flatMap((h) => h.log).filter((l) => /not a private regular file/.test(l));
      expect(ignored.map((l) => basename(/cache file (\S+?\.cwasm)/.exec(l)?.[1] ?? '')).sort()).toEqual([first, second].sort());
    } finally {
      dir.cleanup();
    }
  }, 60_000);
});
