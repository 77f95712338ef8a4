// Timeouts, aborts, destroy, concurrency and queueing: the same on both backends.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { AbortError, ResourceError } from '../../dist/esm/index.js';
import { BACKENDS } from './backends.js';
import { c, sandbox, tempDir, wat } from './helpers.js';

describe.each(BACKENDS)('lifecycle [%s]', (backend) => {
  test.each(['loop', 'loop_calls'])('%s times out while the event loop keeps running', async (guest) => {
    const sb = sandbox(backend, { timeoutMs: 200 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      const t0 = performance.now();
      const r = await sb.execute([wat(guest)]);
      const wall = performance.now() - t0;
      expect(r).toMatchObject({ timedOut: true, exitCode: null });
      // Generous (7x the limit): a limit that did not fire would loop forever.
      expect(wall).toBeLessThan(1500);
      // A same-run ratio: the 10 ms timer ticked for at least a quarter of the run (a blocked loop ticks once).
      expect(ticks).toBeGreaterThanOrEqual(wall / 10 / 4);
    } finally {
      clearInterval(timer);
      await sb.destroy();
    }
  });

  test('the sandbox keeps working after a timeout', async () => {
    const sb = sandbox(backend, { timeoutMs: 300, maxConcurrency: 1 });
    try {
      expect((await sb.execute([wat('loop')])).timedOut).toBe(true);
      const r = await sb.execute([wat('hello')]);
      expect(r.stdout.toString()).toBe('hello, world\n');
    } finally {
      await sb.destroy();
    }
  });

  test('AbortSignal stops a running loop and rejects with AbortError', async () => {
    const sb = sandbox(backend, { timeoutMs: 30_000 });
    try {
      const ac = new AbortController();
      const t0 = performance.now();
      setTimeout(() => ac.abort('enough'), 150);
      const err = await sb.execute([wat('loop')], { signal: ac.signal }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AbortError);
      expect((err as AbortError).name).toBe('AbortError');
      expect((err as AbortError).code).toBe('ABORTED');
      // Generous: without the abort the loop would run into its 30 s limit.
      expect(performance.now() - t0).toBeLessThan(10_000);
      // An already-aborted signal rejects before running.
      await expect(sb.execute([wat('hello')], { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
      // And the sandbox still works.
      expect((await sb.execute([wat('hello')])).exitCode).toBe(0);
    } finally {
      await sb.destroy();
    }
  });

  test('destroy rejects in-flight and later executes with DESTROYED', async () => {
    const sb = sandbox(backend, { timeoutMs: 30_000 });
    const running = sb.execute([wat('loop')]);
    const caught = running.catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    await sb.destroy();
    const err = await caught;
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).code).toBe('DESTROYED');
    await expect(sb.execute([wat('hello')])).rejects.toMatchObject({ name: 'AbortError', code: 'DESTROYED' });
    await sb.destroy(); // idempotent
  });

  test('50 concurrent executes give 50 correct, separate outputs', async () => {
    const sb = sandbox(backend, { maxConcurrency: 4 });
    try {
      const runs = Array.from({ length: 50 }, (_, i) =>
        sb.execute([c('args_env'), `run-${i}`], { env: { RUN: String(i) }, stdin: `in-${i}` }));
      const results = await Promise.all(runs);
      results.forEach((r, i) => {
        expect(r.exitCode).toBe(0);
        const out = r.stdout.toString();
        expect(out).toContain(`argv[1]=run-${i}\n`);
        expect(out).toContain(`env:RUN=${i}\n`);
        expect(out.match(/argv\[1\]=/g)?.length).toBe(1);
      });
      const echoes = await Promise.all(Array.from({ length: 20 }, (_, i) => sb.execute([c('echo_stdin')], { stdin: `echo-${i}` })));
      echoes.forEach((r, i) => expect(r.stdout.toString()).toBe(`echo-${i}`));
    } finally {
      await sb.destroy();
    }
  });

  test('queueTimeoutMs rejects a queued execute with QUEUE_TIMEOUT', async () => {
    const sb = sandbox(backend, { maxConcurrency: 1, queueTimeoutMs: 100, timeoutMs: 1000 });
    try {
      const first = sb.execute([wat('loop')]);
      const second = sb.execute([wat('hello')]).catch((e: unknown) => e);
      const err = await second;
      expect(err).toBeInstanceOf(ResourceError);
      expect((err as ResourceError).code).toBe('QUEUE_TIMEOUT');
      expect((await first).timedOut).toBe(true);
    } finally {
      await sb.destroy();
    }
  });

  test('hot executes reuse the compiled module', async () => {
    // A module no earlier test (or run) compiled: sha256sum plus a custom
    // section with a random nonce, so the first execute must compile it.
    // Both backends log every compile (and native every disk-cache load);
    // a module kept in memory is reused without a word.
    const dir = tempDir();
    const guest = join(dir.path, 'sha256sum-unique.wasm');
    const nonce = randomBytes(8);
    writeFileSync(guest, Buffer.concat([readFileSync(c('sha256sum')), Buffer.from([0x00, 13, 4, ...Buffer.from('test'), ...nonce])]));
    const log: string[] = [];
    const sb = sandbox(backend, { logger: (_level, m) => log.push(m), ...(backend === 'native' ? { cacheDir: join(dir.path, 'cache') } : {}) });
    try {
      expect((await sb.execute([guest, '0'])).exitCode).toBe(0);
      expect(log.filter((l) => /\bcompiled\b/.test(l)), log.join('\n')).toHaveLength(1);
      log.length = 0;
      for (let i = 0; i < 20; i++) expect((await sb.execute([guest, '0'])).exitCode).toBe(0);
      expect(log.filter((l) => /\bcompiled\b|\bloaded\b/.test(l)), 'hot executes compiled or loaded it again').toEqual([]);
    } finally {
      await sb.destroy();
      dir.cleanup();
    }
  });
});
