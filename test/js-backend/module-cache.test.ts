// The JS backend's module loading: no stale code after a module file changes
// (same size and mtime, or replaced by rename), maxModuleMb, and a typed
// MODULE_UNSUPPORTED for wasm features V8 lacks.
import { closeSync, copyFileSync, ftruncateSync, openSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { JsSandbox, ModuleError } from '../../dist/esm/index.js';
import { tempDir, wat } from '../conformance/helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const HELLO = readFileSync(wat('hello'));
/** hello.wasm with its text upper-cased: the same size, different output. */
const SHOUT = Buffer.from(HELLO.toString('latin1').replace('hello, world', 'HELLO, WORLD'), 'latin1');
const FIXED_TIME = 1_700_000_000; // whole seconds: utimes sets them exactly

async function stdoutOf(sb: JsSandbox, path: string): Promise<string> {
  return (await sb.execute([path])).stdout.toString();
}

describe('no stale code', () => {
  test('rewritten in place with the same size and mtime: the new code runs', async () => {
    expect(SHOUT.length).toBe(HELLO.length);
    const p = join(tmp.path, 'inplace.wasm');
    writeFileSync(p, HELLO);
    utimesSync(p, FIXED_TIME, FIXED_TIME);
    const sb = new JsSandbox();
    try {
      expect(await stdoutOf(sb, p)).toBe('hello, world\n');
      // Same inode, same size, same mtime: only the ctime (and the bytes) differ.
      const fd = openSync(p, 'r+');
      writeFileSync(fd, SHOUT);
      closeSync(fd);
      utimesSync(p, FIXED_TIME, FIXED_TIME);
      expect(await stdoutOf(sb, p)).toBe('HELLO, WORLD\n');
    } finally {
      await sb.destroy();
    }
  });

  test('replaced by rename with the same size and mtime: the new code runs', async () => {
    const p = join(tmp.path, 'renamed.wasm');
    writeFileSync(p, HELLO);
    utimesSync(p, FIXED_TIME, FIXED_TIME);
    const sb = new JsSandbox();
    try {
      expect(await stdoutOf(sb, p)).toBe('hello, world\n');
      const next = join(tmp.path, 'renamed.wasm.tmp');
      writeFileSync(next, SHOUT);
      utimesSync(next, FIXED_TIME, FIXED_TIME);
      renameSync(next, p);
      expect(await stdoutOf(sb, p)).toBe('HELLO, WORLD\n');
      // And back: the first module is still cached by content, and still right.
      copyFileSync(wat('hello'), next);
      renameSync(next, p);
      expect(await stdoutOf(sb, p)).toBe('hello, world\n');
    } finally {
      await sb.destroy();
    }
  });
});

describe('maxModuleMb', () => {
  const sparse = (name: string, bytes: number): string => {
    const p = join(tmp.path, name);
    const fd = openSync(p, 'w');
    ftruncateSync(fd, bytes); // sparse: no disk used
    closeSync(fd);
    return p;
  };

  test('a module over the configured cap is MODULE_TOO_LARGE, naming the option', async () => {
    const sb = new JsSandbox({ maxModuleMb: 1 });
    try {
      const err = await sb.execute([sparse('two-mib.wasm', 2 * 1048576)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModuleError);
      expect((err as ModuleError).code).toBe('MODULE_TOO_LARGE');
      expect((err as ModuleError).message).toContain('maxModuleMb');
      // Under the cap, the same sandbox runs a module.
      expect(await stdoutOf(sb, wat('hello'))).toBe('hello, world\n');
    } finally {
      await sb.destroy();
    }
  });

  test('the default is 256 MiB: a file just over 100 MiB gets past the size check', async () => {
    const sb = new JsSandbox();
    try {
      const err = await sb.execute([sparse('hundred-and-one.wasm', 101 * 1048576)]).catch((e: unknown) => e);
      // All zero bytes: read and refused as not wasm, not as too large.
      expect((err as ModuleError).code).toBe('MODULE_INVALID');
    } finally {
      await sb.destroy();
    }
  });
});

describe('wasm features V8 lacks', () => {
  test('exception handling with exnref is MODULE_UNSUPPORTED, saying so and pointing at native', async () => {
    const exnref = fileURLToPath(new URL('../guests/feature/exnref.wasm', import.meta.url));
    const sb = new JsSandbox();
    try {
      const err = await sb.execute([exnref]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModuleError);
      const e = err as ModuleError;
      expect(e.code).toBe('MODULE_UNSUPPORTED');
      expect(e.message).toMatch(/exception-handling proposal/);
      expect(e.message).toMatch(/native backend runs it/);
      // Not V8's own words.
      expect(e.message).not.toMatch(/noexternref|Compiling function/);
    } finally {
      await sb.destroy();
    }
  });

  test('a broken module is still MODULE_INVALID', async () => {
    const p = join(tmp.path, 'truncated.wasm');
    writeFileSync(p, HELLO.subarray(0, HELLO.length - 3));
    const sb = new JsSandbox();
    try {
      await expect(sb.execute([p])).rejects.toMatchObject({ code: 'MODULE_INVALID' });
    } finally {
      await sb.destroy();
    }
  });
});
