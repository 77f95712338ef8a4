// scripts/check-portable.mjs: platform-specific Rust outside a cfg guard is
// found (fixtures), guarded code and comments are not, and the real src-rs
// passes, so the Windows and macOS legs of the release workflow can compile it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
// @ts-expect-error: a plain .mjs script, without type declarations.
import { checkTree, evalCfg, findUnguarded, parseCfg } from '../../scripts/check-portable.mjs';
import { tempDir } from '../conformance/helpers.js';

interface Finding {
  line: number;
  what: string;
  compilesOn: string[];
}
const find = findUnguarded as (src: string) => Finding[];
const whats = (src: string) => find(src).map((f) => `${f.line}:${f.what}:${f.compilesOn.join('+')}`);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'check-portable.mjs');

describe('check-portable: fixtures', () => {
  test('unguarded Unix-only, Linux-only and Windows-only uses are found, with the platforms they break', () => {
    const src = [
      'use std::os::unix::fs::PermissionsExt;', // 1
      'fn pages() -> i64 { unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) } }', // 2
      'fn status() -> String { std::fs::read_to_string("/proc/self/status").unwrap() }', // 3
      'use std::os::windows::fs::MetadataExt as W;', // 4
      'fn mem() { unsafe { windows_sys::Win32::System::SystemInformation::GlobalMemoryStatusEx(p) }; }', // 5
      'fn fd(f: &std::fs::File) -> i32 { use std::os::fd::AsRawFd; f.as_raw_fd() }', // 6
      'use std::os::linux::fs::MetadataExt as L;', // 7
    ].join('\n');
    expect(whats(src)).toEqual([
      '1:std::os::unix:windows',
      '2:libc:::windows',
      '2:libc:::windows',
      '3:/proc/:windows+macos',
      '4:std::os::windows:linux+macos',
      '5:windows_sys:::linux+macos',
      '6:std::os::fd:windows',
      '7:std::os::linux:windows+macos',
    ]);
  });

  test('#[cfg(unix)] / #[cfg(windows)] on use, fn, impl, mod, statement and block guard what they cover', () => {
    const src = `
#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
#[cfg(windows)]
use std::os::windows::fs::MetadataExt;

#[cfg(unix)]
fn uid() -> u32 { unsafe { libc::geteuid() } }

#[cfg(not(windows))]
#[inline]
pub(crate) fn pages() -> i64 {
    unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) }
}

#[cfg(all(unix, not(target_os = "macos")))]
mod linux_bits {
    pub fn status() -> String { std::fs::read_to_string("/proc/self/status").unwrap() }
}

fn mixed(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    let owner = meta.uid();
    #[cfg(unix)]
    {
        let _ = meta.mode();
        let _ = std::os::unix::fs::symlink("a", "b");
    }
    #[cfg(target_os = "linux")]
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count();
    0
}
`;
    expect(whats(src)).toEqual([]);
  });

  test('a guard that still compiles on the platform does not count: cfg!(), test, features, the wrong OS', () => {
    const src = `
fn a() { if cfg!(unix) { unsafe { libc::getpid(); } } }
#[cfg(test)]
mod tests { #[test] fn t() { std::os::unix::fs::symlink("/etc", "x").unwrap(); } }
#[cfg(feature = "napi")]
fn b() { unsafe { libc::getuid(); } }
#[cfg(unix)]
fn c() -> String { std::fs::read_to_string("/proc/meminfo").unwrap() }
#[cfg(any(unix, windows))]
fn d() { unsafe { libc::getuid(); } }
#[cfg(not(target_os = "linux"))]
fn e() { let _ = std::os::windows::io::RawHandle::default(); }
`;
    expect(whats(src)).toEqual([
      '2:libc:::windows',
      '4:std::os::unix:windows',
      '6:libc:::windows',
      '8:/proc/:macos', // cfg(unix) keeps macOS, which has no /proc
      '10:libc:::windows',
      '12:std::os::windows:macos',
    ]);
  });

  test('comments, doc comments, raw strings and lookalike names are not code', () => {
    const src = `
//! Reads /proc/self/status on Linux; std::os::unix is used elsewhere.
/* libc::sysconf in a block comment /* nested libc:: */ still a comment */
/// Uses \`libc::geteuid\` on Unix.
fn a() -> &'static str { r#"libc::foo and std::os::unix"# }
fn b(my_libc: u32) -> char { let c = '"'; let _ = my_libc; c }
fn c<'a>(x: &'a str) -> &'a str { x }
`;
    expect(whats(src)).toEqual([]);
  });

  test('Unix extension-trait methods count only in a file that imports std::os::unix', () => {
    const guardedImport = `
#[cfg(unix)]
use std::os::unix::fs::MetadataExt;
fn f(meta: &std::fs::Metadata) -> u32 { meta.uid() }
fn g(meta: &std::fs::Metadata) -> bool { meta.mode() & 0o022 == 0 }
#[cfg(unix)]
fn h(meta: &std::fs::Metadata) -> u64 { meta.ino() }
`;
    expect(whats(guardedImport)).toEqual(['4:.uid():windows', '5:.mode():windows']);
    expect(whats('fn f(x: &Thing) -> u32 { x.uid() + x.mode() }')).toEqual([]);
  });

  test('cfg predicates evaluate per platform, unknown where they depend on something else', () => {
    const on = (text: string) =>
      (['linux', 'macos', 'windows'] as const).map((p) => String(evalCfg(parseCfg(text), p))).join(' ');
    expect(on('unix')).toBe('true true false');
    expect(on('windows')).toBe('false false true');
    expect(on('not(windows)')).toBe('true true false');
    expect(on('target_os = "linux"')).toBe('true false false');
    expect(on('target_family = "unix"')).toBe('true true false');
    expect(on('all(unix, not(target_os = "macos"))')).toBe('true false false');
    expect(on('any(target_os = "linux", target_os = "macos")')).toBe('true true false');
    expect(on('test')).toBe('undefined undefined undefined');
    expect(on('all(test, unix)')).toBe('undefined undefined false');
    expect(on('any(test, unix)')).toBe('true true undefined');
  });

  test('a file declared by a cfg-guarded `mod name;` is guarded as a whole; the CLI exits 1 and names file:line', () => {
    const dir = tempDir();
    try {
      const src = join(dir.path, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'lib.rs'), '#[cfg(unix)]\nmod unix_only;\nmod everywhere;\n');
      writeFileSync(join(src, 'unix_only.rs'), 'pub fn uid() -> u32 { unsafe { libc::geteuid() } }\n');
      writeFileSync(join(src, 'everywhere.rs'), '\npub fn uid() -> u32 { unsafe { libc::geteuid() } }\n');
      const findings = (checkTree as (d: string) => { file: string; line: number }[])(src);
      expect(findings.map((f) => [f.file.slice(src.length + 1), f.line])).toEqual([['everywhere.rs', 2]]);
      const cli = spawnSync(process.execPath, [SCRIPT, src], { encoding: 'utf8' });
      expect(cli.status).toBe(1);
      expect(cli.stderr).toMatch(/everywhere\.rs:2:\d+: libc:: is Unix-only but compiles on windows/);
      expect(cli.stderr).not.toMatch(/unix_only\.rs/);
      writeFileSync(join(src, 'everywhere.rs'), '#[cfg(unix)]\npub fn uid() -> u32 { unsafe { libc::geteuid() } }\n');
      const clean = spawnSync(process.execPath, [SCRIPT, src], { encoding: 'utf8' });
      expect(clean.status, clean.stderr).toBe(0);
    } finally {
      dir.cleanup();
    }
  });
});

describe('check-portable: the real tree', () => {
  // Fails until every Unix-only call in src-rs is behind #[cfg(unix)] with a
  // Windows branch (issue 16): the Windows build of the release cannot compile before.
  test('src-rs has no platform-specific code outside a cfg guard', () => {
    const r = spawnSync(process.execPath, [SCRIPT], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
