// scripts/install.mjs with cargo on the PATH and no binary to use: it must say
// that a minutes-long source build starts before cargo (or napi) is invoked,
// so an install that goes quiet does not look hung. A fake `cargo` stands in
// for the real one; it only records that the build began, then fails, which
// the script turns into its pure-JS fallback notice.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../conformance/helpers.js';

const INSTALL = fileURLToPath(new URL('../../scripts/install.mjs', import.meta.url));
const NOTICE = /building the native addon from source with cargo now \(a release build: a few minutes the first time\)/;

/** A package root holding only the install script (plus `extra` files), and a bin dir with a fake cargo. */
function layout(dir: string, extra: string[]): { root: string; env: NodeJS.ProcessEnv } {
  const root = join(dir, 'pkg');
  mkdirSync(join(root, 'scripts'), { recursive: true });
  copyFileSync(INSTALL, join(root, 'scripts', 'install.mjs'));
  for (const f of extra) writeFileSync(join(root, f), '');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const cargo = join(bin, 'cargo');
  writeFileSync(cargo, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "cargo 1.0.0 (fake)"; exit 0; fi\necho "FAKE CARGO $*"\nexit 1\n');
  chmodSync(cargo, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
  delete env.MIMOBOX_SKIP_NATIVE_BUILD;
  delete env.MIMOBOX_NATIVE_PATH;
  return { root, env };
}

// The fake cargo is a shell script.
describe.skipIf(process.platform === 'win32')('install script: source build notice', () => {
  test('installed package, no prebuilt binary: one notice line, then cargo build, then the fallback notice', () => {
    const dir = tempDir();
    try {
      const { root, env } = layout(dir.path, ['Cargo.toml']);
      const r = spawnSync(process.execPath, [join(root, 'scripts', 'install.mjs')], { cwd: root, env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0); // a failed source build never fails the install
      const lines = r.stdout.split('\n').filter(Boolean);
      const notice = lines.findIndex((l) => NOTICE.test(l));
      const build = lines.findIndex((l) => l.startsWith('FAKE CARGO build'));
      expect(lines.filter((l) => NOTICE.test(l))).toHaveLength(1);
      expect(lines[notice]).toMatch(/^mimobox-wasm: no prebuilt binary for \S+; building/);
      expect(build).toBeGreaterThan(notice);
      expect(r.stderr).toMatch(/building from source failed .* pure-JS backend/);
    } finally {
      dir.cleanup();
    }
  });

  test('no cargo and no prebuilt binary: no build notice, only the pure-JS notice', () => {
    const dir = tempDir();
    try {
      const { root, env } = layout(dir.path, ['Cargo.toml']);
      // An empty PATH: no cargo at all (node is started by its absolute path).
      const empty = join(dir.path, 'empty');
      mkdirSync(empty);
      const r = spawnSync(process.execPath, [join(root, 'scripts', 'install.mjs')], { cwd: root, env: { ...env, PATH: empty }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(NOTICE);
      expect(r.stderr).toMatch(/no Rust toolchain to build one/);
    } finally {
      dir.cleanup();
    }
  });

  test('development checkout: the notice comes before napi build starts', () => {
    const dir = tempDir();
    try {
      const { root, env } = layout(dir.path, ['tsconfig.json']);
      // No node_modules here: napi's CLI is missing, so the build fails right after the notice.
      const r = spawnSync(process.execPath, [join(root, 'scripts', 'install.mjs')], { cwd: root, env, encoding: 'utf8' });
      expect(r.stdout).toMatch(/^mimobox-wasm: development checkout; building the native addon/m);
      expect(r.stdout.match(new RegExp(NOTICE, 'g'))).toHaveLength(1);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/@napi-rs[\\/]cli[\\/]dist[\\/]cli\.js/);
    } finally {
      dir.cleanup();
    }
  });
});
