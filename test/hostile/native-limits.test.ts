// Issue 21 items 7, 8 and 9 (native): limits a guest could outlive. A module path that is a FIFO
// hung execute (and destroy()) for ever and /dev/zero read ~6 GB; openSession ignored
// queueTimeoutMs while it waited for the process memory budget; and 24 executes x 1,024 files
// took the process to its descriptor limit, so the host's own fs.openSync failed with EMFILE.
// Each case failed on aeb5616.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { ModuleError, ResourceError, setProcessMemoryBudget, WasmSandbox } from '../../dist/esm/index.js';
import { c, tempDir, wat } from '../conformance/helpers.js';
import { gcArrayModule } from './native-wasm-gen.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INDEX = pathToFileURL(join(ROOT, 'dist', 'esm', 'index.js')).href;
const UNIX = process.platform !== 'win32';

test.skipIf(!UNIX)('a module path that is a FIFO or a device is refused before it is read', async () => {
  const dir = tempDir();
  const sb = new WasmSandbox({ cacheDir: join(dir.path, 'cache') });
  try {
    const fifo = join(dir.path, 'fifo.wasm');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const path of [fifo, '/dev/zero']) {
      const err = await sb.execute([path]).then(() => new Error('it ran'), (e: unknown) => e);
      expect(err, path).toBeInstanceOf(ModuleError);
      expect((err as ModuleError).message).toMatch(/not a regular file/);
    }
  } finally {
    await sb.destroy();
    dir.cleanup();
  }
});

test('openSession honours queueTimeoutMs while it waits for the process memory budget', async () => {
  setProcessMemoryBudget(64);
  const holder = new WasmSandbox({ memoryLimitMb: 64 });
  const waiter = new WasmSandbox({ memoryLimitMb: 64, queueTimeoutMs: 200 });
  const held = await holder.openSession(wat('session'));
  try {
    const err = await waiter.openSession(wat('session')).then(
      async (s) => {
        await s.close();
        return new Error('it opened beside a session holding the whole budget');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ResourceError);
    expect((err as ResourceError).code).toBe('MEMORY_BUDGET');
    expect((err as ResourceError).message).toMatch(/session open waited \d+ ms for 64 MiB of the process memory budget/);
  } finally {
    await held.close();
    await holder.destroy();
    await waiter.destroy();
  }
});

// Run in a child with RLIMIT_NOFILE 1024: four guests each try to hold 1,000 files at once
// (the per-execute cap is 1,024), all of them waiting in host.call until every one holds what
// it could; then the host opens files of its own.
test.skipIf(!UNIX)('guests together hold at most half the process descriptor limit; the host can still open files', () => {
  const dir = tempDir();
  try {
    const script = `
      import { openSync, closeSync } from 'node:fs';
      import { WasmSandbox } from ${JSON.stringify(INDEX)};
      const GUESTS = 4;
      let arrived = 0;
      let release;
      const all = new Promise((r) => (release = r));
      const hostOpens = [];
      const sb = new WasmSandbox({
        maxConcurrency: GUESTS, timeoutMs: 60000, fsReadwrite: [{ host: ${JSON.stringify(dir.path)}, guest: '/sb' }],
        hostCall: async () => {
          if (++arrived === GUESTS) {
            for (let i = 0; i < 20; i++) {
              try { hostOpens.push(openSync(${JSON.stringify(join(dir.path, 'host-file'))}, 'w')); } catch (e) { hostOpens.push(e.code); }
            }
            release();
          }
          await all;
          return 'ok';
        },
      });
      const rs = await Promise.all(Array.from({ length: GUESTS }, (_, i) => sb.execute([${JSON.stringify(c('fd_hold'))}, '/sb/g' + i, '1000'])));
      for (const fd of hostOpens) if (typeof fd === 'number') closeSync(fd);
      await sb.destroy();
      console.log(JSON.stringify({ out: rs.map((r) => r.stdout.toString()), codes: rs.map((r) => r.exitCode),
        hostFailures: hostOpens.filter((x) => typeof x !== 'number') }));`;
    for (let i = 0; i < 4; i++) spawnSync('mkdir', ['-p', join(dir.path, `g${i}`)]);
    const child = spawnSync('bash', ['-c', 'ulimit -n 1024 && exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    const r = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { out: string[]; codes: number[]; hostFailures: string[] };
    expect(r.codes).toEqual([0, 0, 0, 0]);
    const opened = r.out.map((o) => Number(/opened=(\d+)/.exec(o)?.[1]));
    expect(opened.reduce((a, b) => a + b, 0), r.out.join('')).toBeLessThanOrEqual(512);
    // The guests that ran out were told ENFILE (41): the process-wide budget, not their own cap.
    expect(r.out.join('')).toMatch(/errno=41/);
    expect(r.hostFailures).toEqual([]);
  } finally {
    dir.cleanup();
  }
}, 120_000);

// Issue 21 item 8: the GC heap sat on top of memoryLimitMb (a 256 MiB cap used 398 MiB). Now a
// store's linear memory and GC heap share the cap: 12 MiB of memory and an 8 MiB GC array do
// not fit 16 MiB.
test('the GC heap counts against memoryLimitMb', async () => {
  const dir = tempDir();
  const sb = new WasmSandbox({ memoryLimitMb: 16 });
  try {
    const small = join(dir.path, 'small.wasm');
    const big = join(dir.path, 'big.wasm');
    writeFileSync(small, gcArrayModule(192, 1 << 20));
    writeFileSync(big, gcArrayModule(192, 8 << 20));
    const ok = await sb.execute([small]);
    expect(ok.exitCode, ok.error ?? '').toBe(0);
    const over = await sb.execute([big]);
    expect(over.trap, JSON.stringify(over)).toBe('memory');
    expect(over.limit).toBe('memory');
  } finally {
    await sb.destroy();
    dir.cleanup();
  }
});
