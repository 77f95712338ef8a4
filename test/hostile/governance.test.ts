// Resource governance on both backends: per-sandbox maxConcurrency (with
// queueTimeoutMs), and the process-wide budget of reserved guest memory
// (setProcessMemoryBudget / MIMOBOX_MEMORY_BUDGET_MB) that keeps 1,000
// sandboxes with 64 MiB caps from taking the host down.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  AbortError, ConfigError, createSandbox, ResourceError, setProcessMemoryBudget, type Sandbox,
} from '../../dist/esm/index.js';
import { memoryBudgetStats, processMemoryBudgetBytes } from '../../dist/esm/shared/memory-budget.js';
import { loadNativeBinding } from '../../dist/esm/native/addon.js';
import { BACKENDS } from '../conformance/backends.js';
import { c, wat } from '../conformance/helpers.js';
import { peakSampler, rssMb, settle } from './health.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A specifier a child's `import` takes on every OS (a Windows path is not one). */
const dist = (file: string): string => pathToFileURL(join(ROOT, 'dist', 'esm', file)).href;
const BUDGET_MB = 256;

/** The native addon's own view of the budget, when it has one. */
function nativeBudgetMb(): number | undefined {
  try {
    const b = loadNativeBinding() as unknown as { memoryBudgetMb?: () => number };
    return typeof b.memoryBudgetMb === 'function' ? b.memoryBudgetMb() : undefined;
  } catch {
    return undefined;
  }
}

describe('setProcessMemoryBudget', () => {
  test('validates its argument and sets both backends', () => {
    const before = processMemoryBudgetBytes();
    expect(() => setProcessMemoryBudget(0)).toThrow(ConfigError);
    expect(() => setProcessMemoryBudget(-5)).toThrow(ConfigError);
    expect(() => setProcessMemoryBudget(1.5)).toThrow(ConfigError);
    expect(() => setProcessMemoryBudget('64' as unknown as number)).toThrow(ConfigError);
    expect(processMemoryBudgetBytes()).toBe(before);
    setProcessMemoryBudget(300);
    expect(processMemoryBudgetBytes()).toBe(300 * 1024 * 1024);
    if (BACKENDS.includes('native')) expect(nativeBudgetMb()).toBe(300);
  });

  test('the default is half of physical memory; MIMOBOX_MEMORY_BUDGET_MB overrides it at first use', () => {
    const script = (env: string) => `
      import { memoryBudgetStats } from ${JSON.stringify(dist('shared/memory-budget.js'))};
      import { totalmem } from 'node:os';
      ${env}
      console.log(JSON.stringify({ budget: memoryBudgetStats().budgetBytes, half: Math.floor(totalmem() / 2 / 1048576) * 1048576 }));
    `;
    const run = (env: Record<string, string>) => {
      const out = spawnSync(process.execPath, ['--input-type=module', '-e', script('')], {
        encoding: 'utf8', env: { ...process.env, MIMOBOX_MEMORY_BUDGET_MB: '', ...env },
      });
      return JSON.parse(out.stdout.trim()) as { budget: number; half: number };
    };
    const d = run({});
    expect(d.budget).toBe(d.half);
    expect(run({ MIMOBOX_MEMORY_BUDGET_MB: '123' }).budget).toBe(123 * 1024 * 1024);
  });
});

describe.each(BACKENDS)('governance [%s]', (backend) => {
  // Each test file runs in its own process (vitest pool 'forks'), so this budget stays here.
  beforeAll(() => setProcessMemoryBudget(BUDGET_MB));

  test('maxConcurrency: executes beyond it queue, and run in waves', async () => {
    const sb = createSandbox({ maxConcurrency: 2, timeoutMs: 300 }, { backend });
    try {
      const t0 = performance.now();
      const rs = await Promise.all(Array.from({ length: 6 }, () => sb.execute([wat('sleep')])));
      const wall = performance.now() - t0;
      for (const r of rs) expect(r.timedOut).toBe(true);
      // Six 300 ms guests, two at a time: three waves (a lower bound, so no machine is too slow for it).
      expect(wall).toBeGreaterThanOrEqual(850);
      // The queue wait is not in elapsedMs: a third-wave guest waited two
      // waves, so with it its elapsedMs would be about the whole wall time.
      expect(Math.max(...rs.map((r) => r.elapsedMs))).toBeLessThan((wall * 2) / 3);
    } finally {
      await sb.destroy();
    }
  });

  test('queueTimeoutMs: 500 queued behind a busy slot fail fast with QUEUE_TIMEOUT; the sandbox lives on', async () => {
    const sb = createSandbox({ maxConcurrency: 1, queueTimeoutMs: 100, timeoutMs: 2000 }, { backend });
    try {
      const busy = sb.execute([wat('loop')]).then((r) => ({ r, endedAt: performance.now() }));
      // Let it take the slot (the JS backend loads modules asynchronously before queueing).
      await new Promise((r) => setTimeout(r, 100));
      const queued = await Promise.all(Array.from({ length: 500 }, () => sb.execute([wat('hello')]).then(() => null, (e: unknown) => e)));
      const queuedEndedAt = performance.now();
      for (const e of queued) {
        expect(e).toBeInstanceOf(ResourceError);
        expect(e).toMatchObject({ code: 'QUEUE_TIMEOUT' });
      }
      const { r: busyResult, endedAt: busyEndedAt } = await busy;
      expect(busyResult.timedOut).toBe(true);
      // Fail fast is an order: all 500 were refused while the slot was still busy (its 2 s limit).
      expect(queuedEndedAt).toBeLessThan(busyEndedAt);
      expect((await sb.execute([wat('hello')])).exitCode).toBe(0);
    } finally {
      await sb.destroy();
    }
  });

  test('a cap over the whole budget fails at once with MEMORY_BUDGET', async () => {
    const sb = createSandbox({ memoryLimitMb: BUDGET_MB * 2 }, { backend });
    try {
      const t0 = performance.now();
      const err = await sb.execute([wat('hello')]).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ResourceError);
      expect(err).toMatchObject({ code: 'MEMORY_BUDGET' });
      expect((err as Error).message).toMatch(/budget/);
      // Generous: nothing else runs, so waiting for budget would mean waiting forever.
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      await sb.destroy();
    }
  });

  test('waiting for budget honours queueTimeoutMs (MEMORY_BUDGET) and AbortSignal', async () => {
    const hog = createSandbox({ memoryLimitMb: 200, timeoutMs: 1500 }, { backend });
    const late = createSandbox({ memoryLimitMb: 100, queueTimeoutMs: 200 }, { backend });
    const patient = createSandbox({ memoryLimitMb: 100 }, { backend });
    try {
      let hogEndedAt = Number.POSITIVE_INFINITY;
      const hogging = hog.execute([wat('loop')]).finally(() => (hogEndedAt = performance.now()));
      await new Promise((r) => setTimeout(r, 100));
      const err = await late.execute([wat('hello')]).then(() => null, (e: unknown) => e);
      const lateFailedAt = performance.now();
      expect(err).toBeInstanceOf(ResourceError);
      expect(err).toMatchObject({ code: 'MEMORY_BUDGET' });
      // Its 200 ms queueTimeoutMs ended the wait, not the hog's release of the budget (1.5 s limit).
      expect(lateFailedAt).toBeLessThan(hogEndedAt);
      const ac = new AbortController();
      const waiting = patient.execute([wat('hello')], { signal: ac.signal }).then(() => null, (e: unknown) => e);
      setTimeout(() => ac.abort('no longer needed'), 100);
      expect(await waiting).toBeInstanceOf(AbortError);
      // Once the hog ends, its 200 MiB come back and a waiter runs.
      const after = patient.execute([wat('hello')]);
      expect((await hogging).timedOut).toBe(true);
      expect((await after).exitCode).toBe(0);
    } finally {
      await Promise.all([hog.destroy(), late.destroy(), patient.destroy()]);
    }
    if (backend === 'js') expect(memoryBudgetStats()).toMatchObject({ reservedBytes: 0, waiting: 0 });
  }, 20_000);

  test('1,000 sandboxes with 64 MiB caps, every tenth filling its memory: all finish, memory stays under the budget', async () => {
    const base = await settle();
    const sandboxes: Sandbox[] = Array.from({ length: 1000 }, () => createSandbox({ memoryLimitMb: 64, timeoutMs: 20_000 }, { backend }));
    const rss = peakSampler(rssMb, 5);
    let peakReserved = 0;
    const stats = backend === 'js' ? setInterval(() => { peakReserved = Math.max(peakReserved, memoryBudgetStats().reservedBytes); }, 2) : undefined;
    const t0 = performance.now();
    try {
      // memory_bomb touches every 4 KiB page it mallocs: 64 MiB really resident per guest.
      const rs = await Promise.all(sandboxes.map((sb, i) => sb.execute([i % 10 === 0 ? c('memory_bomb') : wat('hello')])));
      const ms = performance.now() - t0;
      const peakRss = rss.stop();
      rs.forEach((r, i) => {
        if (i % 10 === 0) expect(r).toMatchObject({ trap: 'memory', exitCode: 1 });
        else expect(r.stdout.toString()).toBe('hello, world\n');
      });
      console.log(`governance [${backend}] 1000 sandboxes x 64 MiB, budget ${BUDGET_MB} MiB: ${ms.toFixed(0)} ms; ` +
        `RSS ${base.rssMb.toFixed(0)} -> peak ${peakRss.toFixed(0)} MiB` + (stats ? `; peak reserved ${peakReserved / 1048576} MiB` : ''));
      // 100 guests x 64 MiB = 6.4 GiB if they all ran at once; the budget allows 4 at a time.
      expect(peakRss - base.rssMb).toBeLessThan(BUDGET_MB + 200);
      if (stats) expect(peakReserved).toBeLessThanOrEqual(BUDGET_MB * 1048576);
    } finally {
      rss.stop();
      if (stats) clearInterval(stats);
      await Promise.all(sandboxes.map((s) => s.destroy()));
    }
    if (backend === 'js') expect(memoryBudgetStats().reservedBytes).toBe(0);
    // Everything reserved came back: a cap equal to the whole budget runs now.
    const whole = createSandbox({ memoryLimitMb: BUDGET_MB, queueTimeoutMs: 2000 }, { backend });
    expect((await whole.execute([wat('hello')])).exitCode).toBe(0);
    await whole.destroy();
  }, 120_000);

  test('budget is given back on timeout, abort, trap and destroy', async () => {
    const sb = createSandbox({ memoryLimitMb: BUDGET_MB, timeoutMs: 200, maxConcurrency: 4 }, { backend });
    const grower = createSandbox({ memoryLimitMb: BUDGET_MB, timeoutMs: 10_000 }, { backend });
    try {
      expect((await sb.execute([wat('loop')])).timedOut).toBe(true);
      expect((await grower.execute([wat('memory_grow')])).trap).toBe('memory');
      const ac = new AbortController();
      const p = sb.execute([wat('sleep')], { signal: ac.signal }).catch((e: unknown) => e);
      setTimeout(() => ac.abort(), 50);
      expect(await p).toBeInstanceOf(AbortError);
      // Each needed the whole budget: if any had kept it, this would wait forever (and time out).
      const strict = createSandbox({ memoryLimitMb: BUDGET_MB, queueTimeoutMs: 2000 }, { backend });
      expect((await strict.execute([wat('hello')])).exitCode).toBe(0);
      const running = strict.execute([wat('loop')]).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      await strict.destroy();
      expect(await running).toMatchObject({ code: 'DESTROYED' });
      expect((await sb.execute([wat('hello')])).exitCode).toBe(0);
    } finally {
      await Promise.all([sb.destroy(), grower.destroy()]);
    }
  }, 30_000);
});
