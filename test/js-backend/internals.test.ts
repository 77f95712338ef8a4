// Unit tests of the JS backend's two security-relevant pieces: preopen path
// resolution (fs.ts) and the memory-limit patch (limits.ts).
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { resolvePath, checkSymlinkTarget, WasiError, type Preopen } from '../../dist/esm/js-backend/fs.js';
import { parseModule, planMemory } from '../../dist/esm/js-backend/limits.js';
import { ERRNO } from '../../dist/esm/js-backend/wasi-defs.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'mimobox-fs-')));
const root = join(base, 'root');
mkdirSync(join(root, 'a', 'b'), { recursive: true });
writeFileSync(join(root, 'a', 'f.txt'), 'x');
symlinkSync('b', join(root, 'a', 'to-b'));
symlinkSync('../..', join(root, 'a', 'up2'));
symlinkSync('/etc', join(root, 'abs'));
symlinkSync('loop2', join(root, 'loop1'));
symlinkSync('loop1', join(root, 'loop2'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const pre: Preopen = { root, guest: '/data', readonly: false };
const errno = (fn: () => unknown): number => {
  try {
    fn();
  } catch (e) {
    if (e instanceof WasiError) return e.errno;
    throw e;
  }
  return 0;
};

describe('resolvePath', () => {
  test('plain and dotted paths stay inside', () => {
    expect(resolvePath(pre, [], 'a/f.txt', true).host).toBe(join(root, 'a', 'f.txt'));
    expect(resolvePath(pre, [], './a/b/../f.txt', true).parts).toEqual(['a', 'f.txt']);
    expect(resolvePath(pre, ['a'], 'b/..', true).parts).toEqual(['a']);
    expect(resolvePath(pre, [], 'a/new-file', true).parts).toEqual(['a', 'new-file']);
  });
  test('relative symlinks inside are followed', () => {
    expect(resolvePath(pre, [], 'a/to-b', true).parts).toEqual(['a', 'b']);
    expect(resolvePath(pre, [], 'a/to-b', false).parts).toEqual(['a', 'to-b']);
  });
  test('escapes are EPERM', () => {
    expect(errno(() => resolvePath(pre, [], '..', true))).toBe(ERRNO.PERM);
    expect(errno(() => resolvePath(pre, [], 'a/../../x', true))).toBe(ERRNO.PERM);
    expect(errno(() => resolvePath(pre, ['a'], '../..', true))).toBe(ERRNO.PERM);
    // A descriptor for a subdirectory confines its paths to it, as cap-std does.
    expect(errno(() => resolvePath(pre, ['a'], '..', true))).toBe(ERRNO.PERM);
    expect(errno(() => resolvePath(pre, [], '/etc/passwd', true))).toBe(ERRNO.PERM);
    expect(errno(() => resolvePath(pre, [], 'abs/passwd', true))).toBe(ERRNO.PERM);
    expect(errno(() => resolvePath(pre, [], 'abs', true))).toBe(ERRNO.PERM);
    expect(errno(() => resolvePath(pre, [], 'a/up2/x', true))).toBe(ERRNO.PERM);
  });
  test('an escaping symlink is only refused when followed', () => {
    expect(resolvePath(pre, [], 'abs', false).parts).toEqual(['abs']);
  });
  test('bad input', () => {
    expect(errno(() => resolvePath(pre, [], 'a\0b', true))).toBe(ERRNO.INVAL);
    expect(errno(() => resolvePath(pre, [], 'x'.repeat(5000), true))).toBe(ERRNO.NAMETOOLONG);
    expect(errno(() => resolvePath(pre, [], 'y'.repeat(300), true))).toBe(ERRNO.NAMETOOLONG);
    expect(errno(() => resolvePath(pre, [], '', true))).toBe(ERRNO.NOENT);
    expect(errno(() => resolvePath(pre, [], 'loop1', true))).toBe(ERRNO.LOOP);
    expect(errno(() => resolvePath(pre, [], 'a/f.txt/x', true))).toBe(ERRNO.NOTDIR);
    expect(errno(() => resolvePath(pre, [], 'missing/x', true))).toBe(ERRNO.NOENT);
  });
  test('symlink targets the guest may create', () => {
    expect(errno(() => checkSymlinkTarget(['a', 'l'], 'b'))).toBe(0);
    expect(errno(() => checkSymlinkTarget(['a', 'l'], '../x'))).toBe(0);
    expect(errno(() => checkSymlinkTarget(['a', 'l'], '../../x'))).toBe(ERRNO.PERM);
    expect(errno(() => checkSymlinkTarget(['l'], '/etc'))).toBe(ERRNO.PERM);
  });
});

// (module (memory 1)) and (memory 2 5) and (memory 300), by hand.
const mod = (limits: number[]): Uint8Array =>
  new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, limits.length + 1, 1, ...limits]);

describe('planMemory', () => {
  const MiB = 1048576;
  test('no maximum: patched to the cap', async () => {
    // The memory exported as "m", so the engine's own view of the limit is checked.
    const bytes = new Uint8Array([...mod([0, 1]), 0x07, 0x05, 0x01, 0x01, 0x6d, 0x02, 0x00]);
    const plan = planMemory(bytes, parseModule(bytes), 16 * MiB);
    expect(plan.refusal).toBeUndefined();
    expect(parseModule(plan.bytes)?.memories[0]).toMatchObject({ min: 1, max: 256 });
    const { instance } = await WebAssembly.instantiate(plan.bytes as Uint8Array<ArrayBuffer>);
    const memory = instance.exports.m as WebAssembly.Memory;
    expect(() => memory.grow(256)).toThrow(RangeError); // 257 pages: over the patched maximum
    expect(memory.grow(255)).toBe(1);
    expect(memory.buffer.byteLength).toBe(16 * MiB);
  });
  test('a maximum under the cap is kept', () => {
    const bytes = mod([1, 2, 5]);
    const plan = planMemory(bytes, parseModule(bytes), 16 * MiB);
    expect(plan.bytes).toBe(bytes);
  });
  test('a minimum over the cap is refused', () => {
    const bytes = mod([0, 0xac, 0x02]); // 300 pages
    const plan = planMemory(bytes, parseModule(bytes), 16 * MiB);
    expect(plan.refusal).toMatch(/memory limit/);
  });
  test('garbage is left to the compiler', () => {
    expect(parseModule(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });
});
