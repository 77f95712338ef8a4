// The compiled-module cache (src-ts/shared/cache-dir.ts, native/compiled-cache.ts): the rules applied
// without the native addon, and that they agree with the addon's.
// Run `node scripts/build-ts.mjs` first: tests import the built files.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { clearCacheDir, defaultCacheDir } from '../../dist/esm/shared/cache-dir.js';
import { loadNativeBinding, type NativeBinding } from '../../dist/esm/native/addon.js';
import { requiredUnderCi } from '../ci-guard.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let native: NativeBinding | undefined;
try {
  native = loadNativeBinding();
} catch {
  native = undefined;
}
requiredUnderCi(native !== undefined, 'compiled-cache.test.ts: the native addon does not load (run npm install)');

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('defaultCacheDir (the rules of src-rs/module/artefact.rs, without the addon)', () => {
  test('order: explicit, MIMOBOX_CACHE_DIR, XDG_CACHE_HOME, HOME', () => {
    const env = { MIMOBOX_CACHE_DIR: '/m', XDG_CACHE_HOME: '/x', HOME: '/h' };
    expect(defaultCacheDir('/e', env)).toBe('/e');
    expect(defaultCacheDir(undefined, env)).toBe('/m');
    expect(defaultCacheDir(undefined, { XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/mimobox');
    expect(defaultCacheDir(undefined, { HOME: '/h' })).toBe('/h/.cache/mimobox');
    // Windows: under LOCALAPPDATA, as the native addon (XDG and HOME are not used there).
    expect(defaultCacheDir(undefined, { LOCALAPPDATA: '/local', HOME: '/h' }, 'win32')).toBe('/local/mimobox/cache');
    expect(defaultCacheDir(undefined, { HOME: '/h' }, 'win32')).toBeNull();
  });
  test('empty or relative values are skipped', () => {
    expect(defaultCacheDir(undefined, { MIMOBOX_CACHE_DIR: '', XDG_CACHE_HOME: 'rel', HOME: '/h' })).toBe('/h/.cache/mimobox');
    expect(defaultCacheDir(undefined, {})).toBeNull();
  });
});

describe.skipIf(native === undefined)('the same answers as the native addon', () => {
  /** [TS, native] cache roots in a process whose whole environment is `env`. */
  function rootsUnder(env: Record<string, string>, explicit?: string): [string | null, string | null] {
    const script = `
      const { defaultCacheDir } = await import(${JSON.stringify(join(ROOT, 'dist/esm/shared/cache-dir.js'))});
      const { loadNativeBinding } = await import(${JSON.stringify(join(ROOT, 'dist/esm/native/addon.js'))});
      const explicit = ${JSON.stringify(explicit ?? null)} ?? undefined;
      console.log(JSON.stringify([defaultCacheDir(explicit), loadNativeBinding().cacheDirFor(explicit ?? null)]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as [string | null, string | null];
  }

  test.each([
    ['MIMOBOX_CACHE_DIR first', { MIMOBOX_CACHE_DIR: '/m', XDG_CACHE_HOME: '/x', HOME: '/h', LOCALAPPDATA: '/l' }],
    ['then XDG_CACHE_HOME (LOCALAPPDATA on Windows)', { XDG_CACHE_HOME: '/x', HOME: '/h', LOCALAPPDATA: '/l' }],
    ['then HOME', { HOME: '/h' }],
    ['empty and relative values skipped', { MIMOBOX_CACHE_DIR: '', XDG_CACHE_HOME: 'rel', HOME: '/h' }],
    ['none at all', {}],
  ])('default root: %s', (_name, env) => {
    const [ts, nat] = rootsUnder(env);
    expect(ts).toBe(nat);
  });

  test('an explicit directory wins over the environment', () => {
    expect(rootsUnder({ MIMOBOX_CACHE_DIR: '/m' }, '/e')).toEqual(['/e', '/e']);
  });

  /** A cache root with artefacts, records, locks, temporaries, and things that are not the cache's. */
  function cacheTree(): string {
    const root = mkdtempSync(join(tmpdir(), 'mimobox-cache-parity-'));
    temps.push(root);
    const key = join(root, 'wasmtime-48.0.0-abc');
    mkdirSync(join(key, 'dir.cwasm'), { recursive: true });
    for (const f of ['m1.cwasm', 'm1.meta', 'm2.cwasm', 'm2.fp', 'm2.lock', '.tmp-123', 'notes.txt', 'dir.cwasm/inner.cwasm']) {
      writeFileSync(join(key, f), f);
    }
    if (process.platform !== 'win32') symlinkSync(join(key, 'notes.txt'), join(key, 'link.cwasm'));
    mkdirSync(join(root, 'wasmtime-48.0.0-only'));
    writeFileSync(join(root, 'wasmtime-48.0.0-only', 'x.cwasm'), 'x');
    mkdirSync(join(root, 'other'));
    writeFileSync(join(root, 'other', 'y.cwasm'), 'y');
    writeFileSync(join(root, 'stray.cwasm'), 'z');
    writeFileSync(join(root, 'wasmtime-file'), 'a file, not a key directory');
    return root;
  }

  function listing(root: string): string[] {
    return (readdirSync(root, { recursive: true }) as string[]).map((p) => relative(root, join(root, p))).sort();
  }

  test('clear removes the same files and counts the same modules', () => {
    const viaNative = cacheTree();
    const viaTs = cacheTree();
    const removedNative = native!.clearCompiledCache(viaNative);
    const removedTs = clearCacheDir(viaTs);
    expect(removedTs).toBe(removedNative);
    expect(listing(viaTs)).toEqual(listing(viaNative));
    // And it did remove something: artefacts, records, locks, temporaries and the emptied key directory.
    expect(listing(viaTs)).not.toContain('wasmtime-48.0.0-only');
    expect(listing(viaTs)).not.toContain(join('wasmtime-48.0.0-abc', 'm2.lock'));
    expect(listing(viaTs)).toContain(join('wasmtime-48.0.0-abc', 'notes.txt'));
  });
});
