// Issue 21 item 9: a module path that is not a regular file. On the JS
// backend /dev/zero was read without end until V8 aborted the whole process
// (fatal out of memory), and a FIFO hung execute() and destroy() for ever.
// Now both are refused before a byte is read, with MODULE_INVALID, as on
// native. Each case runs in a child process, so the old behaviour (an abort,
// a hang) fails the test instead of taking the test runner with it.
// These are the JS backend's rows; native has the same contract
// (src-rs/module/load.rs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INDEX = pathToFileURL(join(ROOT, 'dist', 'esm', 'index.js')).href;
const dir = mkdtempSync(join(tmpdir(), 'mimobox-module-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  code?: string;
  message?: string;
  exitCode?: number | null;
  destroyMs: number;
}

/** Runs one execute of `path` in a child process; what it threw (or returned), and how long destroy() took after it. */
function executeInChild(path: string, call: 'execute' | 'openSession'): { outcome?: Outcome; status: number | null; signal: string | null; timedOut: boolean; stderr: string } {
  const script = `
    import { createSandbox } from ${JSON.stringify(INDEX)};
    const sb = createSandbox({ maxModuleMb: 64 }, { backend: 'js' });
    let out = {};
    try {
      const r = await sb.${call}(${call === 'execute' ? `[${JSON.stringify(path)}]` : JSON.stringify(path)});
      out = { exitCode: r.exitCode ?? null };
    } catch (e) {
      out = { code: e.code, message: e.message };
    }
    const t0 = performance.now();
    await sb.destroy();
    out.destroyMs = performance.now() - t0;
    console.log(JSON.stringify(out));
  `;
  // 20 s: a refusal takes milliseconds; the old backend hung for ever (FIFO) or aborted (/dev/zero).
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  const last = child.stdout.trim().split('\n').pop() ?? '';
  return {
    outcome: last.startsWith('{') ? JSON.parse(last) as Outcome : undefined,
    status: child.status, signal: child.signal, timedOut: child.error !== undefined, stderr: child.stderr.slice(-2000),
  };
}

function fifo(name: string): string {
  const path = join(dir, name);
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  return path;
}

const CASES: { name: string; path: () => string; skip: boolean }[] = [
  { name: '/dev/zero (a character device without end)', path: () => '/dev/zero', skip: !existsSync('/dev/zero') },
  { name: 'a FIFO nobody writes to', path: () => fifo(`fifo-${Math.random().toString(36).slice(2)}`), skip: process.platform === 'win32' },
];

describe.each(['execute', 'openSession'] as const)('a module path that is not a regular file [js, %s]', (call) => {
  for (const c of CASES) {
    test.skipIf(c.skip)(`${c.name}: refused with MODULE_INVALID before reading; the process lives, destroy() is prompt`, () => {
      const r = executeInChild(c.path(), call);
      expect(r.timedOut, `the child hung past 20 s: ${r.stderr}`).toBe(false);
      expect(r.signal, `the child died: ${r.stderr}`).toBeNull();
      expect(r.status, r.stderr).toBe(0);
      expect(r.outcome).toMatchObject({ code: 'MODULE_INVALID' });
      expect(r.outcome?.message).toMatch(/not a regular file/);
      expect(r.outcome?.destroyMs).toBeLessThan(5000);
    }, 30_000);
  }
});
