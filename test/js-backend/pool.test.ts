// The JS backend's process-wide worker threads (pool.ts) and its table cap
// (memory-plan.ts): shared across sandboxes, bounded by MIMOBOX_JS_WORKERS, idle
// threads stopped, tables patched to the native cap.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { JsSandbox } from '../../dist/esm/index.js';
import { parseModule, planMemory } from '../../dist/esm/js-backend/module/memory-plan.js';
import { jsWorkerLimit, jsWorkerStats } from '../../dist/esm/js-backend/threads/pool.js';
import { c, wat } from '../conformance/helpers.js';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('shared worker threads', () => {
  test('many sandboxes share the same threads', async () => {
    const sandboxes = Array.from({ length: 40 }, () => new JsSandbox({ maxConcurrency: 4 }));
    try {
      await Promise.all(sandboxes.map((s) => Promise.all([s.execute([wat('hello')]), s.execute([wat('hello')])])));
      const stats = jsWorkerStats();
      expect(stats.limit).toBe(jsWorkerLimit());
      expect(stats.threads).toBeLessThanOrEqual(stats.limit);
      expect(stats.busy).toBe(0);
    } finally {
      await Promise.all(sandboxes.map((s) => s.destroy()));
    }
  });

  test('idle threads beyond one per CPU stop after 2 s', async () => {
    const sb = new JsSandbox({ maxConcurrency: 8, timeoutMs: 10_000 });
    try {
      // Eight guests that sleep 1 s at once need eight threads, and end
      // normally (a timed-out guest's thread is killed, not left idle).
      const slept = await Promise.all(Array.from({ length: 8 }, () => sb.execute([c('sleep'), '1'])));
      expect(slept.map((r) => r.stdout.toString())).toEqual(Array(8).fill('slept\n'));
      expect(jsWorkerStats().threads).toBeGreaterThan(Math.min(8, availableParallelism()));
      await new Promise((r) => setTimeout(r, 2600));
      expect(jsWorkerStats().threads).toBeLessThanOrEqual(Math.min(jsWorkerLimit(), availableParallelism()));
      expect((await sb.execute([wat('hello')])).exitCode).toBe(0);
    } finally {
      await sb.destroy();
    }
  }, 15_000);

  test('MIMOBOX_JS_WORKERS bounds guests running at once across sandboxes', () => {
    const script = `
      import { JsSandbox } from ${JSON.stringify(join(ROOT, 'dist/esm/index.js'))};
      const sbs = [0, 1, 2].map(() => new JsSandbox({ maxConcurrency: 4, timeoutMs: 300 }));
      const t0 = performance.now();
      await Promise.all(sbs.flatMap((s) => [s.execute([${JSON.stringify(wat('sleep'))}]), s.execute([${JSON.stringify(wat('sleep'))}])]));
      console.log(JSON.stringify({ wall: performance.now() - t0 }));
      await Promise.all(sbs.map((s) => s.destroy()));
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, MIMOBOX_JS_WORKERS: '2' }, timeout: 20_000,
    });
    expect(out.status, out.stderr).toBe(0);
    const { wall } = JSON.parse(out.stdout.trim()) as { wall: number };
    // Six 300 ms guests, two threads: three waves.
    expect(wall).toBeGreaterThanOrEqual(850);
  });
});

describe('table cap', () => {
  // (module (table 1 funcref)) and (table 1 20 funcref), (table 1 2000000 funcref)
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const withTable = (limits: number[]) =>
    new Uint8Array([...header, 0x04, limits.length + 2, 0x01, 0x70, ...limits]);

  test('no maximum: patched to 1,000,000 elements', async () => {
    // The table exported as "t", so the engine's own view of the limit is checked.
    const bytes = new Uint8Array([...withTable([0x00, 0x01]), 0x07, 0x05, 0x01, 0x01, 0x74, 0x01, 0x00]);
    const plan = planMemory(bytes, parseModule(bytes), 16 << 20);
    expect(parseModule(plan.bytes)?.tables[0]).toMatchObject({ min: 1, max: 1_000_000 });
    const { instance } = await WebAssembly.instantiate(plan.bytes as Uint8Array<ArrayBuffer>);
    const table = instance.exports.t as WebAssembly.Table;
    expect(() => table.grow(1_000_000)).toThrow(RangeError); // 1,000,001 elements: over the patched maximum
    expect(table.grow(999_999)).toBe(1);
    expect(table.length).toBe(1_000_000);
  });
  test('a maximum under the cap is kept, one over it lowered', () => {
    const small = withTable([0x01, 0x01, 0x14]);
    expect(planMemory(small, parseModule(small), 16 << 20).bytes).toBe(small);
    const big = withTable([0x01, 0x01, 0x80, 0x89, 0x7a]); // max 2,000,000
    expect(parseModule(planMemory(big, parseModule(big), 16 << 20).bytes)?.tables[0]?.max).toBe(1_000_000);
  });
});

describe('output buffers', () => {
  test('a 2 MiB output cap does not allocate a new shared buffer per execute', async () => {
    const sb = new JsSandbox({ maxOutputBytes: 2 * 1024 * 1024, maxConcurrency: 1 });
    try {
      for (let i = 0; i < 20; i++) await sb.execute([wat('hello')]);
      // SharedArrayBuffers count in arrayBuffers; one per execute made it grow
      // by 4 MiB each time (1.2 GB here) until a GC.
      const before = process.memoryUsage().arrayBuffers;
      for (let i = 0; i < 300; i++) expect((await sb.execute([wat('hello')])).stdout.toString()).toBe('hello, world\n');
      const grownMb = (process.memoryUsage().arrayBuffers - before) / 1048576;
      expect(grownMb).toBeLessThan(100);
    } finally {
      await sb.destroy();
    }
  });
});
