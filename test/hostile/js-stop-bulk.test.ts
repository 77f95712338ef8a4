// Issue 21 item 4: a JS-backend guest in a loop of 64 MiB memory.fill/copy
// (or 1M-element table.fill/copy) could not be stopped: the timeout, an
// AbortSignal, destroy() and process.exit() all waited 40+ s for V8, which
// ignored termination in such a loop. Now every bulk operator runs in
// bounded pieces (bulk-ops.ts) and the execute settles at its deadline
// without waiting for the thread (pool.ts). The bounds below are generous
// multiples of the deadline, far under what the bug took.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { AbortError, createSandbox, type Sandbox, type SandboxResult } from '../../dist/esm/index.js';
import { jsWorkerStats } from '../../dist/esm/js-backend/threads/pool.js';
import { wat } from '../conformance/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The bug held each of these for 40+ s; a fixed backend takes milliseconds. */
const SETTLE_MS = 5000;
/**
 * How long the guest runs before it is stopped: long enough for V8 to have
 * tiered it up, after which (measured on Node 20.20) the old backend could no
 * longer stop it; in its first ~100 ms it sometimes still could.
 */
const RUN_MS = 1000;
const GUESTS = ['bulk_loop', 'table_loop'] as const;

/** Resolves with how long `p` took to settle, or rejects if it takes over `ms`. */
async function settlesWithin<T>(p: Promise<T>, ms: number): Promise<{ value: PromiseSettledResult<T>; ms: number }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    const [value] = await Promise.race([Promise.allSettled([p]), late]);
    return { value, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

/** The event loop keeps turning while we wait: a 10 ms interval counts its ticks. */
function ticker(): { stop(): number } {
  let ticks = 0;
  const t = setInterval(() => ticks++, 10);
  return { stop: () => (clearInterval(t), ticks) };
}

/** Waits (bounded) until no JS-backend thread is busy: the killed guest really stopped. */
async function threadsIdle(ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (jsWorkerStats().busy > 0) {
    if (performance.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

let sb: Sandbox | undefined;
afterEach(async () => {
  await sb?.destroy();
  sb = undefined;
});

describe.each(GUESTS)('a JS guest in a loop of big bulk operations (%s) stops', (guest) => {
  test('at its timeout: the execute settles, timed out, and the thread is gone', async () => {
    sb = createSandbox({ timeoutMs: RUN_MS, memoryLimitMb: 128 }, { backend: 'js' });
    const tick = ticker();
    const { value, ms } = await settlesWithin(sb.execute([wat(guest)]), RUN_MS + SETTLE_MS);
    const ticks = tick.stop();
    expect(value.status).toBe('fulfilled');
    const r = (value as PromiseFulfilledResult<SandboxResult>).value;
    expect(r.timedOut).toBe(true);
    expect(r.limit).toBe('wall_clock');
    expect(ticks).toBeGreaterThan(0);
    console.log(`js-stop ${guest}: timeout ${RUN_MS} ms, settled after ${ms.toFixed(0)} ms`);
    // Not only the promise: the guest itself stopped (the slot is free again).
    expect(await threadsIdle(SETTLE_MS)).toBe(true);
  });

  test('on abort: the execute rejects with AbortError', async () => {
    sb = createSandbox({ timeoutMs: 60_000, memoryLimitMb: 128 }, { backend: 'js' });
    const ac = new AbortController();
    const running = sb.execute([wat(guest)], { signal: ac.signal });
    await new Promise((r) => setTimeout(r, RUN_MS));
    ac.abort();
    const { value } = await settlesWithin(running, SETTLE_MS);
    expect(value.status).toBe('rejected');
    expect((value as PromiseRejectedResult).reason).toBeInstanceOf(AbortError);
    expect(await threadsIdle(SETTLE_MS)).toBe(true);
  });

  test('on destroy(): destroy resolves and the execute rejects with DESTROYED', async () => {
    const box = createSandbox({ timeoutMs: 60_000, memoryLimitMb: 128 }, { backend: 'js' });
    const running = box.execute([wat(guest)]);
    running.catch(() => {}); // rejected during destroy(), looked at below
    await new Promise((r) => setTimeout(r, RUN_MS));
    const destroyed = await settlesWithin(box.destroy(), SETTLE_MS);
    expect(destroyed.value.status).toBe('fulfilled');
    const { value } = await settlesWithin(running, SETTLE_MS);
    expect((value as PromiseRejectedResult).reason).toMatchObject({ code: 'DESTROYED' });
    expect(await threadsIdle(SETTLE_MS)).toBe(true);
  });

  test('on process.exit(): the process ends promptly', () => {
    const index = pathToFileURL(join(ROOT, 'dist', 'esm', 'index.js')).href;
    const script = `
      import { createSandbox } from ${JSON.stringify(index)};
      const sb = createSandbox({ timeoutMs: 60000, memoryLimitMb: 128 }, { backend: 'js' });
      sb.execute([${JSON.stringify(wat(guest))}]).catch(() => {});
      setTimeout(() => process.exit(3), ${RUN_MS});
    `;
    const t0 = performance.now();
    // 20 s: the bug held the exit for 40+ s; a fixed backend exits in well under a second.
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const ms = performance.now() - t0;
    expect(child.error, 'the child hung past 20 s').toBeUndefined();
    expect(child.status, child.stderr).toBe(3);
    console.log(`js-stop ${guest}: process.exit() took the child ${ms.toFixed(0)} ms in all`);
  }, 30_000);
});
