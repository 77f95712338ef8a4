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
// rename between the check and the call still redirects it; SECURITY.md says so.
import {
  closeSync, constants, fstatSync, futimesSync, openSync, readlinkSync, realpathSync, statSync, utimesSync, type BigIntStats,
} from 'node:fs';

/** O_PATH (Linux x86-64/arm64 value): Node has no constant for it. */
const O_PATH = 0o10000000;

/** Opens a directory to anchor lookups in: never follows a symlink in the last component. */
export const DIR_ANCHOR_FLAGS = (process.platform === 'linux' ? O_PATH : constants.O_RDONLY) |
  (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);

/** Whether /proc/self/fd/<fd>/<name> reaches `name` inside the directory the descriptor holds. */
export const PROC_FD: boolean = (() => {
  if (process.platform !== 'linux') return false;
  let fd = -1;
  try {
    fd = openSync('/', DIR_ANCHOR_FLAGS);
    return statSync(`/proc/self/fd/${fd}/.`).ino === fstatSync(fd).ino;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeQuietly(fd);
  }
})();

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already gone */
  }
}

export class HostDir {
  private closed = false;

  /**
   * `fd` is owned from here on (close() releases it). `path` is where it was
   * opened: only used where PROC_FD is false.
   */
  constructor(readonly fd: number, private readonly path: string) {}

  /**
   * Opens a preopen's root, a real (symlink-free) path. The descriptor must
   * name that very path: had a component on the way been swapped for a
   * symlink (by a guest holding another grant), the grant would move.
   */
  static openRoot(root: string): HostDir {
    const fd = openSync(root, DIR_ANCHOR_FLAGS);
    const dir = new HostDir(fd, root);
    let real: string;
    try {
      real = PROC_FD ? readlinkSync(`/proc/self/fd/${fd}`) : realpathSync(root);
      if (!PROC_FD) dir.verify();
    } catch (e) {
      dir.close();
      throw e;
    }
    if (real !== root) {
      dir.close();
      throw moved();
    }
    return dir;
  }

  /** Opens the directory `name` in `parent` (a real directory, never a symlink there). */
  static openAt(parent: HostDir, name: string): HostDir {
    const host = parent.at(name);
    return new HostDir(openSync(host, DIR_ANCHOR_FLAGS), host);
  }

  /** The host path of `name` inside this directory, for one fs call. */
  at(name: string): string {
    return `${this.self()}/${name}`;
  }

  /** The host path of the directory itself (opendir, utimes). */
  self(): string {
    if (PROC_FD) return `/proc/self/fd/${this.fd}`;
    this.verify();
    return this.path;
  }

  /** The directory's own stat, from its descriptor. */
  stat(): BigIntStats {
    return fstatSync(this.fd, { bigint: true });
  }

  setTimes(atime: number, mtime: number): void {
    // An O_PATH descriptor refuses futimes: name the directory through /proc instead.
    if (PROC_FD) utimesSync(this.self(), atime, mtime);
    else futimesSync(this.fd, atime, mtime);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.fd);
  }

  /** Without /proc: the path must still lead to the directory the descriptor holds. */
  private verify(): void {
    let now;
    try {
      now = statSync(this.path, { bigint: true });
    } catch {
      throw moved();
    }
    const held = fstatSync(this.fd, { bigint: true });
    if (now.dev !== held.dev || now.ino !== held.ino) throw moved();
  }
}

/** The directory is no longer where it was: the guest sees ENOENT (guard maps the code). */
const moved = (): Error => Object.assign(new Error('the directory moved'), { code: 'ENOENT' });
