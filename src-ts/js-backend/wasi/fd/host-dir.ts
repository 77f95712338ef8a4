// A host directory held open by its OS descriptor, and how to name an entry in
// it so that the name is looked up in *that* directory, whatever has since
// been renamed or swapped along the path that led to it.
//
// Linux: `/proc/self/fd/<fd>/<name>`. The kernel follows the magic link
// /proc/self/fd/<fd> to the very directory the descriptor holds (by inode, not
// by path) and looks `name` up there, so every fs call on it acts like its
// *at() form (openat, renameat, unlinkat, fstatat ...). The descriptors are
// O_PATH: they only anchor lookups, need no read permission, and fstat works.
//
// Elsewhere (macOS, Windows; or a /proc hidden from us) there is no such name:
// the directory is named by the host path it was opened at, checked against
// the descriptor's device and inode before each use, and path calls are
// serialised across this process's guests (path-lock.ts). That is weaker: a
// rename by another process between the check and the call still redirects
// it; SECURITY.md says so.
import {
  closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, statSync, utimesSync,
  type BigIntStats,
} from 'node:fs';

/** O_PATH (the Linux x86-64/arm64 value): Node has no constant for it. */
const O_PATH = 0o10000000;
const DIR_FLAGS = (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);

let procFd: boolean | undefined;

/** Whether /proc/self/fd/<fd>/<name> reaches `name` inside the directory the descriptor holds (probed once, on first use). */
export function hasProcFd(): boolean {
  procFd ??= probeProcFd();
  return procFd;
}

/** Set to 1, the portable path below is used on Linux too: the tests run it there. */
export const PORTABLE_ENV = 'MIMOBOX_JS_FS_PORTABLE';

function probeProcFd(): boolean {
  if (process.platform !== 'linux' || process.env[PORTABLE_ENV] === '1') return false;
  let fd = -1;
  try {
    fd = openSync('/', O_PATH | DIR_FLAGS);
    return statSync(`/proc/self/fd/${fd}/.`).ino === fstatSync(fd).ino;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeQuietly(fd);
  }
}

/** How a directory is opened to anchor lookups: never through a symlink in the last component. */
const anchorFlags = (): number => (hasProcFd() ? O_PATH : constants.O_RDONLY) | DIR_FLAGS;

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already gone */
  }
}

/** An fs error as Node's own (guard maps `code` to the guest's errno). */
const fsError = (code: string, why: string): Error => Object.assign(new Error(why), { code });

export class HostDir {
  private closed = false;

  /**
   * `fd` is owned from here on (close() releases it). `path` is where it was
   * opened: only used where hasProcFd() is false.
   */
  constructor(readonly fd: number, private readonly path: string) {}

  /**
   * Opens a preopen's root, a real (symlink-free) path. The descriptor must
   * name that very path: had a component on the way been swapped for a
   * symlink (by a guest holding another grant), the grant would move.
   */
  static openRoot(root: string): HostDir {
    const dir = new HostDir(openSync(root, anchorFlags()), root);
    try {
      const real = hasProcFd() ? readlinkSync(`/proc/self/fd/${dir.fd}`) : realpathSync(root);
      if (real !== root) throw fsError('ENOENT', 'the preopen is no longer at its path');
      if (!hasProcFd()) dir.verify();
    } catch (e) {
      dir.close();
      throw e;
    }
    return dir;
  }

  /**
   * Opens the directory `name` in `parent`, never through a symlink: a
   * symlink there fails with ELOOP or ENOTDIR (the walk then reads it), as
   * does anything else that is not a directory.
   */
  static openAt(parent: HostDir, name: string): HostDir {
    const host = parent.at(name);
    if (hasProcFd()) return new HostDir(openSync(host, anchorFlags()), host);
    // Without O_NOFOLLOW everywhere (Windows): look first, then open and check it is what was looked at.
    const seen = lstatSync(host, { bigint: true });
    if (seen.isSymbolicLink()) throw fsError('ELOOP', 'a symlink');
    if (!seen.isDirectory()) throw fsError('ENOTDIR', 'not a directory');
    const dir = new HostDir(openSync(host, anchorFlags()), host);
    const held = dir.stat();
    if (held.dev !== seen.dev || held.ino !== seen.ino) {
      dir.close();
      throw fsError('ENOENT', 'replaced while being opened');
    }
    return dir;
  }

  /** The host path of `name` inside this directory, for one fs call. */
  at(name: string): string {
    return `${this.self()}/${name}`;
  }

  /** The host path of the directory itself (opendir, utimes). */
  self(): string {
    if (hasProcFd()) return `/proc/self/fd/${this.fd}`;
    this.verify();
    return this.path;
  }

  /** The directory's own stat, from its descriptor. */
  stat(): BigIntStats {
    return fstatSync(this.fd, { bigint: true });
  }

  /**
   * By name, not futimes: an O_PATH descriptor refuses futimes, and on
   * Windows a directory opened for reading may not set its times.
   */
  setTimes(atime: number, mtime: number): void {
    utimesSync(this.self(), atime, mtime);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.fd);
  }

  /** Without /proc: the path must still lead to the directory the descriptor holds. */
  private verify(): void {
    let now: BigIntStats;
    try {
      now = statSync(this.path, { bigint: true });
    } catch {
      throw fsError('ENOENT', 'the directory moved');
    }
    const held = this.stat();
    if (now.dev !== held.dev || now.ino !== held.ino) throw fsError('ENOENT', 'the directory moved');
  }
}
