// Unit tests of the JS backend's two security-relevant pieces: preopen path
// walking (fs.ts) and the memory-limit patch (memory-plan.ts).
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkSymlinkTarget, walk, WasiError } from '../../dist/esm/js-backend/wasi/fs.js';
import { HostDir } from '../../dist/esm/js-backend/wasi/fd/host-dir.js';
import { parseModule, planMemory } from '../../dist/esm/js-backend/module/memory-plan.js';
import { ERRNO } from '../../dist/esm/js-backend/wasi/wasi-defs.js';

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

const errno = (fn: () => unknown): number => {
  try {
    fn();
  } catch (e) {
    if (e instanceof WasiError) return e.errno;
    throw e;
  }
  return 0;
};

// A walk ends on one name inside one directory it holds open; `at` names
// that place by the directory's inode (portable: no /proc needed) and the name.
const rootDir = HostDir.openRoot(root);
const aDir = HostDir.openAt(rootDir, 'a');
afterAll(() => {
  aDir.close();
  rootDir.close();
});
const at = (start: HostDir, path: string, follow: boolean): { dir: bigint; leaf: string | undefined } => {
  const w = walk(start, path, follow);
  try {
    return { dir: w.dir.stat().ino, leaf: w.leaf };
  } finally {
    w.release();
  }
};
const place = (dir: string, leaf?: string) => ({ dir: statSync(join(root, dir), { bigint: true }).ino, leaf });

describe('walk', () => {
  test('plain and dotted paths stay inside', () => {
    expect(at(rootDir, 'a/f.txt', true)).toEqual(place('a', 'f.txt'));
    expect(at(rootDir, './a/b/../f.txt', true)).toEqual(place('a', 'f.txt'));
    expect(at(aDir, 'b/..', true)).toEqual(place('a'));
    expect(at(rootDir, 'a/new-file', true)).toEqual(place('a', 'new-file'));
    expect(at(rootDir, 'a/b/..', true)).toEqual(place('', 'a'));
  });
  test('relative symlinks inside are followed', () => {
    expect(at(rootDir, 'a/to-b', true)).toEqual(place('a', 'b'));
    expect(at(rootDir, 'a/to-b', false)).toEqual(place('a', 'to-b'));
    expect(at(rootDir, 'a/to-b/', false)).toEqual(place('a', 'b'));
  });
  test('escapes are EPERM', () => {
    expect(errno(() => walk(rootDir, '..', true))).toBe(ERRNO.PERM);
    expect(errno(() => walk(rootDir, 'a/../../x', true))).toBe(ERRNO.PERM);
    expect(errno(() => walk(aDir, '../..', true))).toBe(ERRNO.PERM);
    // A descriptor for a subdirectory confines its paths to it, as cap-std does.
    expect(errno(() => walk(aDir, '..', true))).toBe(ERRNO.PERM);
    expect(errno(() => walk(rootDir, '/etc/passwd', true))).toBe(ERRNO.PERM);
    expect(errno(() => walk(rootDir, 'abs/passwd', true))).toBe(ERRNO.PERM);
    expect(errno(() => walk(rootDir, 'abs', true))).toBe(ERRNO.PERM);
    expect(errno(() => walk(rootDir, 'a/up2/x', true))).toBe(ERRNO.PERM);
  });
  test('an escaping symlink is only refused when followed', () => {
    expect(at(rootDir, 'abs', false)).toEqual(place('', 'abs'));
  });
  test('bad input', () => {
    expect(errno(() => walk(rootDir, 'a\0b', true))).toBe(ERRNO.INVAL);
    expect(errno(() => walk(rootDir, 'x'.repeat(5000), true))).toBe(ERRNO.NAMETOOLONG);
    expect(errno(() => walk(rootDir, 'y'.repeat(300), true))).toBe(ERRNO.NAMETOOLONG);
    expect(errno(() => walk(rootDir, '', true))).toBe(ERRNO.NOENT);
    expect(errno(() => walk(rootDir, 'loop1', true))).toBe(ERRNO.LOOP);
    expect(errno(() => walk(rootDir, 'a/f.txt/x', true))).toBe(ERRNO.NOTDIR);
    expect(errno(() => walk(rootDir, 'missing/x', true))).toBe(ERRNO.NOENT);
  });
  test('a path deeper than the descriptors a walk holds still climbs back by name', () => {
    mkdirSync(join(root, 'deep', ...Array.from({ length: 100 }, () => 'd')), { recursive: true });
    const down = Array.from({ length: 100 }, () => 'd').join('/');
    const up = Array.from({ length: 99 }, () => '..').join('/');
    expect(at(rootDir, `deep/${down}/${up}/x`, false)).toEqual(place('deep/d', 'x'));
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
