// Native-only behaviour: the addon's own thread pool, fuel, the compiled-
// module cache, logging, abort/destroy and panic containment.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { AbortError, HOST_CALL_MAX_BYTES, InternalError, WasmSandbox, type SandboxResult } from '../../dist/esm/index.js';
import { loadNativeBinding } from '../../dist/esm/native/addon.js';
import { c, comparable, tempDir, wat } from '../conformance/helpers.js';
import { RELEASE_BINARY, UNDER_CI } from '../ci-guard.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A specifier a child's `import` takes on every OS (a Windows path is not one). */
const dist = (file: string): string => pathToFileURL(join(ROOT, 'dist', 'esm', file)).href;

/**
 * hello.wasm with a custom section naming `tag`: the same program under a new
 * module hash, so its inline-start history (inline.rs, per module) starts clean.
 */
const freshDirs: Array<{ cleanup(): void }> = [];
afterAll(() => freshDirs.forEach((d) => d.cleanup()));
function freshHello(tag: string): string {
  const name = Buffer.from(`mimobox-test-${tag}-${process.pid}-${Date.now()}`);
  const section = Buffer.concat([Buffer.from([0, name.length + 1, name.length]), name]);
  const dir = tempDir();
  freshDirs.push(dir);
  const file = join(dir.path, `hello-${tag}.wasm`);
  writeFileSync(file, Buffer.concat([readFileSync(wat('hello')), section]));
  return file;
}

function cwasmFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...cwasmFiles(p));
    else if (entry.name.endsWith('.cwasm')) out.push(p);
  }
  return out;
}

/** Runs a guest in a fresh Node process (fresh in-memory module map) and returns its logs and result. */
function runInChild(cacheDir: string, guest: string, extraEnv: Record<string, string> = {}): { log: string[]; stdout: string; exitCode: number | null } {
  const script = `
    import { WasmSandbox } from ${JSON.stringify(dist('index.js'))};
    const log = [];
    const sb = new WasmSandbox({ cacheDir: ${JSON.stringify(cacheDir)}, logger: (level, m) => log.push(level + ': ' + m) });
    const r = await sb.execute([${JSON.stringify(guest)}]);
    await sb.destroy();
    console.log(JSON.stringify({ log, stdout: r.stdout.toString(), exitCode: r.exitCode }));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...extraEnv },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

test('the door cap TS documents is the one the addon enforces (one definition, read through the binding)', () => {
  expect(loadNativeBinding().nativeInfo().limits.hostCallMaxBytes).toBe(HOST_CALL_MAX_BYTES);
});

describe('thread pool', () => {
  test('ten long guests stall neither the event loop nor fs.promises (libuv pool)', async () => {
    const sb = new WasmSandbox({ timeoutMs: 1500, fuel: null, maxConcurrency: 10 });
    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 10);
    const started = performance.now();
    let firstGuestEnd = Number.POSITIVE_INFINITY;
    const guests = Array.from({ length: 10 }, () =>
      sb.execute([wat('loop')]).finally(() => (firstGuestEnd = Math.min(firstGuestEnd, performance.now()))));
    // Node's own fs work goes through libuv's 4-thread pool; it must not wait for the guests.
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) await readFile(join(ROOT, 'package.json'));
    const readsEnd = performance.now();
    const results = await Promise.all(guests);
    const runMs = performance.now() - started;
    clearInterval(timer);
    await sb.destroy();
    expect(results.every((r) => r.timedOut)).toBe(true);
    // Orders and same-run ratios, not absolute times (the machine may be busy):
    // all twenty reads ended while every guest still ran its 1.5 s ...
    expect(readsEnd).toBeLessThan(firstGuestEnd);
    // ... the 10 ms timer kept ticking (a blocked loop ticks about once) ...
    expect(ticks).toBeGreaterThan(runMs / 10 / 5);
    // ... and was never held for a large part of the run (a blocked loop shows one gap as long as the run).
    expect(maxGap).toBeLessThan(runMs / 3);
  });

  // Development builds (npm install in a checkout) carry the `test-hooks` host
  // function; a published binary does not, and release-workflow.test.ts checks it never will.
  const hooks = new WasmSandbox().execute([wat('panic_hook')]).then(
    () => true,
    (e: { code?: string }) => e.code !== 'IMPORT_MISSING',
  );
  test('a panic inside an execute (a host function) rejects with InternalError and the process lives on', async (ctx) => {
    if (!(await hooks)) {
      // A release binary has no test hooks on purpose; a development build that lost them is a failure under CI.
      if (UNDER_CI && !RELEASE_BINARY) throw new Error('the addon lacks the test-hooks feature: build it with npm install (scripts/install.mjs)');
      ctx.skip('this addon was built without the test-hooks feature (a release build)');
    }
    const sb = new WasmSandbox();
    for (const inline of [true, false]) {
      const s = new WasmSandbox({ inline });
      const err = await s.execute([wat('panic_hook')]).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(InternalError);
      expect((err as InternalError).code).toBe('INTERNAL');
      expect((err as InternalError).message).toContain('deliberate test panic');
      await s.destroy();
    }
    expect((await sb.execute([wat('hello')])).stdout.toString()).toBe('hello, world\n');
    await sb.destroy();
  });
});

// Executes start on the calling thread for a bounded slice (src-rs/inline.rs)
// unless `inline: false`; a guest that outlasts the slice moves to a worker.
describe('inline start', () => {
  test('a burst of long and host-call-heavy guests leaves the event loop free', async () => {
    const TIME_LIMIT_MS = 1000;
    const sb = new WasmSandbox({ timeoutMs: TIME_LIMIT_MS, maxConcurrency: 40 });
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 5);
    const guests = ['loop', 'hostcall_loop', 'fill_loop', 'random_flood', 'write_big'];
    const started = performance.now();
    const runs = Array.from({ length: 40 }, (_, i) => sb.execute([wat(guests[i % guests.length] as string)]));
    // Starting forty of them must not hold the thread: each leaves its slice at once.
    const startMs = performance.now() - started;
    const results = await Promise.all(runs);
    clearInterval(timer);
    await sb.destroy();
    expect(results.every((r) => r.timedOut)).toBe(true);
    // A guest that kept its start on this thread would hold it for its whole
    // time limit: starting all forty, and any one event-loop gap, stay under
    // one limit (measured on a quiet machine: a few ms each).
    expect(startMs).toBeLessThan(TIME_LIMIT_MS);
    expect(maxGap).toBeLessThan(TIME_LIMIT_MS);
  });

  test('an execute starts inline only while no other execute of the process is in flight', async () => {
    // The raw binding answers a plain result when the execute finished on the calling thread,
    // a Promise when it went to the workers (test files run in processes of their own).
    const sb = new WasmSandbox({ timeoutMs: 5000 });
    const hello = freshHello('alone');
    const native = (sb as unknown as { native: { execute(r: object): unknown } }).native;
    const request = (path: string, executionId: number) => ({ path, args: [path], env: [], stdin: new Uint8Array(), executionId });
    try {
      // A module not yet in memory loads on a worker: warm it first.
      await sb.execute([hello]);
      await sb.execute([c('sleep'), '0']);
      // Preemption past the slice's time sends a start to a worker: try thrice.
      const startsInline = async (id: number): Promise<boolean> => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const started = native.execute(request(hello, id + attempt * 10));
          if (!(started instanceof Promise)) return true;
          await started;
        }
        return false;
      };
      expect(await startsInline(900_001), 'alone: finished inline').toBe(true);
      const sleeping = native.execute(request(c('sleep'), 900_002));
      expect(sleeping instanceof Promise).toBe(true);
      const beside = native.execute(request(hello, 900_003));
      expect(beside instanceof Promise, 'with another in flight: started on a worker').toBe(true);
      await beside;
      (sb as unknown as { native: { cancel(id: number): void } }).native.cancel(900_002);
      await (sleeping as Promise<unknown>).catch(() => undefined);
      expect(await startsInline(900_004), 'alone again: inline').toBe(true);
    } finally {
      await sb.destroy();
    }
  });

  test('callers awaiting other executes ask for worker starts; a lone caller asks for the inline start', async () => {
    // What the TypeScript layer asks of the addon (startInline); whether a start it allows
    // does finish inline depends on the machine's load and is the test above.
    const sb = new WasmSandbox({ maxConcurrency: 8 });
    const hello = freshHello('callers');
    const native = (sb as unknown as { native: { execute(r: { startInline?: boolean }): unknown } }).native;
    const execute = native.execute.bind(native);
    const asked: boolean[] = [];
    native.execute = (r: { startInline?: boolean }) => {
      asked.push(r.startInline !== false);
      return execute(r);
    };
    try {
      for (let i = 0; i < 20; i++) await sb.execute([hello]);
      expect(asked).toEqual(Array(20).fill(true));
      asked.length = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 10; i++) await sb.execute([hello]);
      }));
      expect(asked).toHaveLength(80);
      // Only a start that finds the other seven between two executes asks for it (the very first
      // does). Without the count of awaited executes all 80 would ask.
      expect(asked.filter(Boolean).length, 'eight callers at once').toBeLessThanOrEqual(8);
    } finally {
      await sb.destroy();
    }
  });

  test('inline and worker starts give identical results', async () => {
    const config = { memoryLimitMb: 16, maxOutputBytes: 64 * 1024, env: { A: 'b' }, timeoutMs: 2000 };
    const inline = new WasmSandbox(config);
    const worker = new WasmSandbox({ ...config, inline: false });
    const cases: Array<[string[], { stdin?: string }?]> = [
      [[wat('hello')]],
      [[c('args_env'), 'x', 'y z']],
      [[c('echo_stdin')], { stdin: 'ping\n'.repeat(5000) }],
      [[c('exit_code'), '3']],
      [[c('exit_code'), '255']],
      [[wat('exit_neg')]],
      [[wat('div_zero')]],
      [[wat('stack_overflow')]],
      [[wat('oob')]],
      [[wat('memory_grow')]],
      [[c('output_flood'), String(200_000), String(100)]],
      [[c('nbody'), '1000']],
      [[c('sha256sum'), '1']],
    ];
    try {
      for (const [cmd, opts] of cases) {
        for (let round = 0; round < 3; round++) {
          const [a, b] = [await inline.execute(cmd, opts), await worker.execute(cmd, opts)];
          expect(comparable(a), cmd.join(' ')).toEqual(comparable(b));
          expect(a.fuelConsumed, cmd.join(' ')).toBe(b.fuelConsumed);
        }
      }
    } finally {
      await Promise.all([inline.destroy(), worker.destroy()]);
    }
  }, 60_000);
});

describe('fuel', () => {
  test('an exact budget stops a loop deterministically', async () => {
    const sb = new WasmSandbox({ fuel: 5_000_000 });
    const a = await sb.execute([wat('loop')]);
    const b = await sb.execute([wat('loop')]);
    expect(a.timedOut).toBe(true);
    expect(a.exitCode).toBeNull();
    expect(a.fuelConsumed).toBe(5_000_000);
    expect(b.fuelConsumed).toBe(a.fuelConsumed);
    const x = await sb.execute([c('args_env'), 'same']);
    const y = await sb.execute([c('args_env'), 'same']);
    expect(x.exitCode).toBe(0);
    expect(x.fuelConsumed).toBeGreaterThan(0);
    expect(y.fuelConsumed).toBe(x.fuelConsumed);
    await sb.destroy();
  });

  test.each([['unset', {}], ['null', { fuel: null }]] as const)('fuel %s: no metering, the wall clock stops the loop', async (_, fuel) => {
    const sb = new WasmSandbox({ ...fuel, timeoutMs: 200 });
    const r = await sb.execute([wat('loop')]);
    expect(r.timedOut).toBe(true);
    expect(r.limit).toBe('wall_clock');
    expect(r.fuelConsumed).toBeUndefined();
    expect(r.error).toMatch(/wall-clock/);
    await sb.destroy();
  });

  test('by default CPU-bound work runs unmetered to its end', async () => {
    // sha256 of 64 MiB: about a second of CPU here.
    const sb = new WasmSandbox({ timeoutSecs: 60 });
    const r = await sb.execute([c('sha256sum'), '64']);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(r.fuelConsumed).toBeUndefined();
    expect(r.stdout.toString()).toMatch(/^[0-9a-f]{64}\n$/);
    await sb.destroy();
  });
});

describe('abort and destroy', () => {
  test('an AbortSignal stops a running guest at once', async () => {
    const sb = new WasmSandbox({ timeoutSecs: 60, fuel: null });
    const ac = new AbortController();
    const p = sb.execute([wat('loop')], { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    const t = performance.now();
    ac.abort('user gave up');
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as Error).name).toBe('AbortError');
    // Generous: an abort that did not stop the guest would wait for the 60 s limit.
    expect(performance.now() - t).toBeLessThan(10_000);
    // An already-aborted signal never starts the guest.
    await expect(sb.execute([wat('hello')], { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await sb.destroy();
  });

  test('destroy() with executes in flight rejects them with DESTROYED and refuses new ones', async () => {
    const sb = new WasmSandbox({ timeoutSecs: 60 });
    // Observe the rejections from the start: they arrive while destroy() runs.
    const running = [sb.execute([wat('sleep')]), sb.execute([wat('loop')])].map((p) => p.then(() => null, (e: unknown) => e));
    await new Promise((r) => setTimeout(r, 100));
    await sb.destroy();
    for (const err of await Promise.all(running)) expect(err).toMatchObject({ code: 'DESTROYED', name: 'AbortError' });
    await expect(sb.execute([wat('hello')])).rejects.toMatchObject({ code: 'DESTROYED' });
  });
});

describe('compiled-module cache', () => {
  // POSIX modes (0700 cache, group/other write bits): Windows has ACLs instead, not checked here.
  test.skipIf(process.platform === 'win32')('compile once, load from disk in a new process, recompile a corrupt file', () => {
    const dir = tempDir();
    try {
      const cache = join(dir.path, 'cache');
      const first = runInChild(cache, wat('hello'));
      expect(first.stdout).toBe('hello, world\n');
      expect(first.log.join('\n')).toMatch(/compiled and cached/);
      expect(statSync(cache).mode & 0o777).toBe(0o700);
      const files = cwasmFiles(cache);
      expect(files).toHaveLength(1);
      const second = runInChild(cache, wat('hello'));
      expect(second.log.join('\n')).toMatch(/loaded .* from cache/);
      // Corrupt the artefact: it is removed and the module recompiled.
      const bytes = readFileSync(files[0] as string);
      bytes[bytes.length - 64] ^= 0xff;
      writeFileSync(files[0] as string, bytes);
      const third = runInChild(cache, wat('hello'));
      expect(third.stdout).toBe('hello, world\n');
      expect(third.log.join('\n')).toMatch(/corrupt or truncated; recompiling/);
      expect(third.log.join('\n')).toMatch(/compiled and cached/);
      // Truncated too.
      writeFileSync(files[0] as string, readFileSync(files[0] as string).subarray(0, 100));
      expect(runInChild(cache, wat('hello')).stdout).toBe('hello, world\n');
    } finally {
      dir.cleanup();
    }
  });

  test("another module's artefact under this module's name is refused", () => {
    const dir = tempDir();
    try {
      const cache = join(dir.path, 'cache');
      runInChild(cache, wat('hello'));
      runInChild(cache, wat('main_only'));
      const files = cwasmFiles(cache);
      expect(files).toHaveLength(2);
      // Swap the artefacts with their records, as files (rename): each name now
      // holds the other module's artefact and a record that says so.
      const [a, b] = files as [string, string];
      const swap = (x: string, y: string) => {
        renameSync(x, `${x}.swap`);
        renameSync(y, x);
        renameSync(`${x}.swap`, y);
      };
      swap(a, b);
      swap(a.replace(/\.cwasm$/, '.meta'), b.replace(/\.cwasm$/, '.meta'));
      const hello = runInChild(cache, wat('hello'));
      expect(hello.stdout).toBe('hello, world\n');
      expect(hello.log.join('\n')).toMatch(/belongs to another module/);
      expect(runInChild(cache, wat('main_only')).exitCode).toBe(42);
      // Swapped contents under the same names (the records stay): refused as changed files.
      runInChild(cache, wat('hello'));
      runInChild(cache, wat('main_only'));
      const [c, d] = cwasmFiles(cache) as [string, string];
      const cBytes = readFileSync(c);
      copyFileSync(d, c);
      writeFileSync(d, cBytes);
      const again = runInChild(cache, wat('hello'));
      expect(again.stdout).toBe('hello, world\n');
      expect(again.log.join('\n')).toMatch(/changed since it was written and checked/);
    } finally {
      dir.cleanup();
    }
  });

  // POSIX modes (0700 cache, group/other write bits): Windows has ACLs instead, not checked here.
  test.skipIf(process.platform === 'win32')('a cache dir writable by others is not trusted: compile in memory, warn', () => {
    const dir = tempDir();
    try {
      const cache = join(dir.path, 'shared');
      mkdirSync(cache);
      chmodSync(cache, 0o777);
      const r = runInChild(cache, wat('hello'));
      expect(r.stdout).toBe('hello, world\n');
      expect(r.log.join('\n')).toMatch(/cache disabled: .* writable by group or others/);
      expect(cwasmFiles(cache)).toHaveLength(0);
    } finally {
      dir.cleanup();
    }
  });

  test('MIMOBOX_LOG=info turns on stderr logging; silent by default', () => {
    const dir = tempDir();
    try {
      const script = `import { WasmSandbox } from ${JSON.stringify(dist('index.js'))};
        const sb = new WasmSandbox({ cacheDir: ${JSON.stringify(join(dir.path, 'c'))} });
        await sb.execute([${JSON.stringify(wat('hello'))}]); await sb.destroy();`;
      const quiet = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(quiet.stderr).toBe('');
      const loud = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, MIMOBOX_LOG: 'info' },
      });
      expect(loud.stderr).toMatch(/mimobox info: loaded .* from cache/);
    } finally {
      dir.cleanup();
    }
  });

  test('two files with the same size and mtime run their own code', async () => {
    const dir = tempDir();
    try {
      const bytes = readFileSync(wat('main_only'));
      const a = join(dir.path, 'a.wasm');
      const b = join(dir.path, 'b.wasm');
      writeFileSync(a, bytes);
      const other = Buffer.from(bytes);
      other[other.lastIndexOf(42)] = 43;
      writeFileSync(b, other);
      const when = new Date('2020-01-01T00:00:00Z');
      utimesSync(a, when, when);
      utimesSync(b, when, when);
      const sb = new WasmSandbox({ cacheDir: join(dir.path, 'cache') });
      const results: SandboxResult[] = [await sb.execute([a]), await sb.execute([b]), await sb.execute([a])];
      expect(results.map((r) => r.exitCode)).toEqual([42, 43, 42]);
      await sb.destroy();
    } finally {
      dir.cleanup();
    }
  });

  test('cache: false writes nothing to disk', async () => {
    const dir = tempDir();
    try {
      const copy = join(dir.path, 'fresh.wasm');
      // A module no other test compiled, so the in-memory map cannot answer.
      const bytes = Buffer.from(readFileSync(wat('main_only')));
      bytes[bytes.lastIndexOf(42)] = 7;
      writeFileSync(copy, bytes);
      const sb = new WasmSandbox({ cache: false, cacheDir: join(dir.path, 'cache') });
      expect((await sb.execute([copy])).exitCode).toBe(7);
      await sb.destroy();
      expect(() => readdirSync(join(dir.path, 'cache'))).toThrow();
    } finally {
      dir.cleanup();
    }
  });
});

describe('load once, run many', () => {
  test('a handle from a path runs with its own args, env and stdin each time', async () => {
    const sb = new WasmSandbox();
    const handle = await sb.load(c('args_env'));
    expect(handle.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(handle.name).toBe(c('args_env'));
    const one = await handle.run(['one'], { env: { X: '1' } });
    const two = await handle.run(['two']);
    expect(one.stdout.toString()).toContain(`argv[0]=${c('args_env')}\nargv[1]=one\n`);
    expect(one.stdout.toString()).toContain('env:X=1');
    expect(two.stdout.toString()).toContain('argv[1]=two\n');
    expect(two.stdout.toString()).not.toContain('env:X=1');
    const echo = await sb.load(c('echo_stdin'));
    expect((await echo.run([], { stdin: 'piped' })).stdout.toString()).toBe('piped');
    await sb.destroy();
    await expect(handle.run([])).rejects.toMatchObject({ code: 'DESTROYED' });
  });

  test('a handle from bytes needs no file; bad bytes are a ModuleError', async () => {
    const sb = new WasmSandbox();
    const handle = await sb.load(readFileSync(wat('hello')), { name: 'hello.wasm' });
    const r = await handle.run();
    expect(r.stdout.toString()).toBe('hello, world\n');
    expect(handle.name).toBe('hello.wasm');
    await expect(sb.load(Buffer.from('not wasm at all'))).rejects.toMatchObject({ code: 'MODULE_INVALID', name: 'ModuleError' });
    await expect(sb.load(readFileSync(wat('no_entry')))).rejects.toMatchObject({ code: 'NO_ENTRY' });
    await expect(sb.load(readFileSync(wat('import_missing')))).rejects.toMatchObject({ code: 'IMPORT_MISSING' });
    await sb.destroy();
  });

  test('limits still hold for loaded modules, and abort works', async () => {
    const sb = new WasmSandbox({ timeoutMs: 200, fuel: null });
    const loop = await sb.load(wat('loop'));
    const r = await loop.run();
    expect(r.timedOut).toBe(true);
    const ac = new AbortController();
    const p = new WasmSandbox({ timeoutSecs: 60, fuel: null });
    const loop2 = await p.load(wat('loop'));
    const running = loop2.run([], { signal: ac.signal }).then(() => null, (e: unknown) => e);
    setTimeout(() => ac.abort(), 50);
    expect(await running).toMatchObject({ name: 'AbortError', code: 'ABORTED' });
    await sb.destroy();
    await p.destroy();
  });
});

describe('process memory budget', () => {
  test('an execute whose cap is over the budget fails with MEMORY_BUDGET; one within waits its turn', () => {
    const script = `
      import { WasmSandbox } from ${JSON.stringify(dist('index.js'))};
      const big = new WasmSandbox({ memoryLimitMb: 128 });
      const out = {};
      try { await big.execute([${JSON.stringify(wat('hello'))}]); out.big = 'ran'; } catch (e) { out.big = e.code; }
      // Two 48 MiB executes cannot both hold 64 MiB of budget: the second waits, then times out in the queue.
      const sb = new WasmSandbox({ memoryLimitMb: 48, timeoutMs: 400, queueTimeoutMs: 100, maxConcurrency: 4 });
      // The sleeper takes its 48 MiB first; only then does the second ask.
      const first = sb.execute([${JSON.stringify(wat('sleep'))}]);
      await new Promise((r) => setTimeout(r, 50));
      const results = await Promise.allSettled([first, sb.execute([${JSON.stringify(wat('hello'))}])]);
      out.first = results[0].status === 'fulfilled' ? results[0].value.timedOut : results[0].reason.code;
      out.second = results[1].status === 'fulfilled' ? 'ran' : results[1].reason.code;
      // Once the first is done its share is back.
      out.after = (await sb.execute([${JSON.stringify(wat('hello'))}])).stdout.toString();
      console.log(JSON.stringify(out));
    `;
    const res = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, MIMOBOX_MEMORY_BUDGET_MB: '64' },
      encoding: 'utf8',
    });
    expect(JSON.parse(res.trim())).toEqual({ big: 'MEMORY_BUDGET', first: true, second: 'MEMORY_BUDGET', after: 'hello, world\n' });
  });
});
