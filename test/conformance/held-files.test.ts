// Files a guest holds open when it is stopped mid-run (a deadline) are closed
// in the host process, for executes and for sessions, on both backends. The JS
// backend relies on Node closing a terminated worker's raw descriptors
// (Worker's trackUnmanagedFds, on by default): this fails if that is lost.
// Linux only: it counts the process's descriptors in /proc/self/fd.
import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BACKENDS } from './backends.js';
import { sandbox, tempDir } from './helpers.js';
import { OPEN_AND_SPIN } from './session-support.js';

const held = (dir: string): number => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === join(dir, 'held.txt');
  } catch {
    return false; // closed meanwhile
  }
}).length;

describe.skipIf(!existsSync('/proc/self/fd')).each(BACKENDS)('files held by a stopped guest [%s]', (backend) => {
  test('an execute stopped at its deadline leaves no file open', async () => {
    const dir = tempDir();
    const guest = join(dir.path, 'open_and_spin.wasm');
    writeFileSync(guest, OPEN_AND_SPIN);
    const sb = sandbox(backend, { timeoutMs: 300, fsReadwrite: [{ host: dir.path, guest: '/work' }] });
    try {
      const seen: number[] = [];
      const probe = setInterval(() => seen.push(held(dir.path)), 20);
      for (let i = 0; i < 3; i++) expect((await sb.execute([guest])).timedOut).toBe(true);
      clearInterval(probe);
      expect(Math.max(...seen), 'the guest never had its file open: the test proves nothing').toBe(1);
      expect(held(dir.path)).toBe(0);
    } finally {
      await sb.destroy();
      dir.cleanup();
    }
  });

  test('a session call stopped at its deadline leaves no file open', async () => {
    const dir = tempDir();
    const sb = sandbox(backend, { timeoutMs: 30_000, fsReadwrite: [{ host: dir.path, guest: '/work' }] });
    try {
      const s = await sb.openSession(OPEN_AND_SPIN);
      const seen: number[] = [];
      const probe = setInterval(() => seen.push(held(dir.path)), 20);
      const r = await s.call('_start', { timeoutMs: 300 });
      clearInterval(probe);
      expect(r).toMatchObject({ timedOut: true, sessionEnded: 'timeout' });
      expect(Math.max(...seen), 'the guest never had its file open: the test proves nothing').toBe(1);
      expect(held(dir.path)).toBe(0);
    } finally {
      await sb.destroy();
      dir.cleanup();
    }
  });
});
