// Issue 21 item 1 (critical): native code execution through the compiled cache. A guest
// writes as the host user, so (a) no grant may reach the cache root, the default cache root,
// the key that signs the records, or the Python helper's link directories, on both backends and
// through the raw binding; (b) a record rewritten to vouch for planted machine code is refused
// (its HMAC fails) and the module recompiled; (c) the Python stdlib link directory is private
// and a planted zip is never used. Each case failed on aeb5616.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ConfigError, createSandbox, WasmSandbox } from '../../dist/esm/index.js';
import { loadNativeBinding } from '../../dist/esm/native/addon.js';
import { stdlibDir } from '../../dist/esm/python/home.js';
import { tempDir, wat } from '../conformance/helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INDEX = pathToFileURL(join(ROOT, 'dist', 'esm', 'index.js')).href;

describe('grants that reach the compiled cache are refused', () => {
  test.each(['native', 'js'] as const)('%s: fsReadwrite/fsReadonly over cacheDir, inside it, through a link', (backend) => {
    const dir = tempDir();
    try {
      const cacheDir = join(dir.path, 'app', 'cache');
      mkdirSync(join(cacheDir, 'python-lib', 'x'), { recursive: true });
      const refused = (config: Record<string, unknown>): void => {
        let err: unknown;
        try {
          createSandbox({ cacheDir, ...config }, { backend });
        } catch (e) {
          err = e;
        }
        expect(err, JSON.stringify(config)).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).code).toBe('CONFIG_INVALID');
        expect((err as ConfigError).message).toMatch(/grant a narrower directory, or move cacheDir/);
      };
      refused({ fsReadwrite: [join(dir.path, 'app')] });
      refused({ fsReadonly: [join(dir.path, 'app')] });
      refused({ fsReadwrite: [cacheDir] });
      refused({ fsReadwrite: [{ host: join(cacheDir, 'python-lib', 'x'), guest: '/x' }] });
      // The default cache root (another configuration's cache) and the key directory too.
      const home = process.env.HOME;
      if (home) refused({ fsReadwrite: [home] });
      // The Python helper's stdlib directory, read-only, is the one grant allowed under a cache.
      const ok = createSandbox({ cacheDir, fsReadonly: [join(cacheDir, 'python-lib', 'x')] }, { backend });
      void ok.destroy();
    } finally {
      dir.cleanup();
    }
  });

  test('the raw binding refuses them too (the check is in the core)', () => {
    const dir = tempDir();
    try {
      const cacheDir = join(dir.path, 'cache');
      mkdirSync(cacheDir);
      const binding = loadNativeBinding() as unknown as { NativeSandbox: new (config: unknown) => unknown };
      let err: unknown;
      try {
        new binding.NativeSandbox({
          memoryLimitBytes: 16 << 20, timeoutMs: 1000, fuelMode: 'off', readonlyDirs: [], readwriteDirs: [{ host: dir.path, guest: '/d' }],
          maxOutputBytes: 1024, cache: true, cacheDir, maxConcurrency: 1,
        });
      } catch (e) {
        err = e;
      }
      expect(String((err as Error | undefined)?.message)).toMatch(/contains the compiled-module cache/);
      expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
    } finally {
      dir.cleanup();
    }
  });
});

/** The bytes of a fingerprint's fixed part (src-rs/module/fingerprint.rs to_bytes: dev, ino, size, mtime, ctime). */
function fingerprintHead(path: string): Buffer {
  const st = statSync(path, { bigint: true });
  const b = Buffer.alloc(8 * 3 + 16 * 2);
  b.writeBigUInt64LE(st.dev, 0);
  b.writeBigUInt64LE(st.ino, 8);
  b.writeBigUInt64LE(st.size, 16);
  b.writeBigInt64LE(BigInt.asIntN(64, st.mtimeNs), 24);
  b.writeBigInt64LE(st.mtimeNs < 0n ? -1n : 0n, 32);
  b.writeBigInt64LE(BigInt.asIntN(64, st.ctimeNs), 40);
  b.writeBigInt64LE(st.ctimeNs < 0n ? -1n : 0n, 48);
  return b;
}

function artefactOf(cacheDir: string, wasm: string, ext: string): string {
  const hash = createHash('sha256').update(readFileSync(wasm)).digest('hex');
  for (const sub of readdirSync(cacheDir)) {
    const p = join(cacheDir, sub, `${hash}${ext}`);
    try {
      statSync(p);
      return p;
    } catch {
      // not in this engine's directory
    }
  }
  throw new Error(`no ${ext} for ${wasm} under ${cacheDir}`);
}

test('a .cwasm rewritten in place with its .meta re-fingerprinted never runs the planted code', async () => {
  const dir = tempDir();
  try {
    const cacheDir = join(dir.path, 'cache');
    const sb = new WasmSandbox({ cacheDir });
    expect((await sb.execute([wat('hello')])).stdout.toString()).toBe('hello, world\n');
    expect((await sb.execute([wat('main_only')])).exitCode).toBe(42);
    await sb.destroy();
    const victim = artefactOf(cacheDir, wat('hello'), '.cwasm');
    const meta = artefactOf(cacheDir, wat('hello'), '.meta');
    const before = fingerprintHead(victim);
    // The attack, as a guest with a grant over the cache did it: same inode, new machine code...
    writeFileSync(victim, readFileSync(artefactOf(cacheDir, wat('main_only'), '.cwasm')));
    // ...and the record rewritten to the file's new fingerprint.
    const record = readFileSync(meta);
    const at = record.indexOf(before);
    expect(at).toBeGreaterThan(0);
    fingerprintHead(victim).copy(record, at);
    writeFileSync(meta, record);
    // A fresh process (no in-memory module) runs the innocent module.
    const script = `
      import { WasmSandbox } from ${JSON.stringify(INDEX)};
      const sb = new WasmSandbox({ cacheDir: ${JSON.stringify(cacheDir)} });
      const r = await sb.execute([${JSON.stringify(wat('hello'))}]).catch((e) => ({ stdout: 'error ' + e.code, exitCode: -1 }));
      await sb.destroy();
      console.log(JSON.stringify({ out: String(r.stdout), code: r.exitCode }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { out: string; code: number };
    expect(result).toEqual({ out: 'hello, world\n', code: 0 });
  } finally {
    dir.cleanup();
  }
});

describe('the Python stdlib link directory', () => {
  function fakeHome(dir: string): { dir: string; plain: string; snapshot: string; stdlibZip: string } {
    const home = join(dir, 'artifacts');
    mkdirSync(home);
    for (const f of ['python.wasm', 'python-snapshot.wasm']) writeFileSync(join(home, f), '');
    writeFileSync(join(home, 'python-stdlib.zip'), 'the real standard library');
    return { dir: home, plain: join(home, 'python.wasm'), snapshot: join(home, 'python-snapshot.wasm'), stdlibZip: join(home, 'python-stdlib.zip') };
  }

  test('a zip planted where the link goes is replaced, never used', () => {
    const dir = tempDir();
    try {
      const home = fakeHome(dir.path);
      const root = join(dir.path, 'root');
      const lib = stdlibDir(home, root);
      // Planted by whoever could write there (another process of the user, an old grant).
      writeFileSync(join(lib, 'python315.zip.tmp'), 'planted');
      const zip = join(lib, 'python315.zip');
      const planted = join(dir.path, 'planted.zip');
      writeFileSync(planted, 'import os; os.system("evil")');
      // Replace the link by another file of the same name (a new inode).
      writeFileSync(join(dir.path, 'x'), '');
      spawnSync('mv', [planted, zip]);
      const fresh = spawnSync(process.execPath, ['--input-type=module', '-e', `
        import { stdlibDir } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/esm/python/home.js')).href)};
        const lib = stdlibDir(${JSON.stringify(home)}, ${JSON.stringify(root)});
        console.log(lib);`], { encoding: 'utf8' });
      expect(fresh.status, fresh.stderr).toBe(0);
      expect(readFileSync(zip, 'utf8')).toBe('the real standard library');
    } finally {
      dir.cleanup();
    }
  });

  test.skipIf(process.platform === 'win32')('a root (such as $TMPDIR/mimobox-<uid> without HOME) that others can write is refused', () => {
    const dir = tempDir();
    try {
      const home = fakeHome(dir.path);
      const root = join(dir.path, 'shared');
      mkdirSync(root);
      chmodSync(root, 0o777);
      let err: unknown;
      try {
        stdlibDir(home, root);
      } catch (e) {
        err = e;
      }
      // By code and name: python/home.js may load its own copy of the errors module.
      expect((err as ConfigError | undefined)?.code).toBe('CONFIG_INVALID');
      expect((err as Error | undefined)?.name).toBe('ConfigError');
      expect((err as Error | undefined)?.message).toMatch(/no one else can write/);
    } finally {
      dir.cleanup();
    }
  });
});
