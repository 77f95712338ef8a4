// Preopen path resolution: the one place that decides what a guest path may
// touch. A path is walked component by component from the OS descriptor of
// the directory it is relative to (fd/host-dir.ts): each directory on the way
// is opened from the one before it, never through a symlink, and symlinks are
// read and followed here, by this code, never by the kernel. So no `..`,
// absolute path or symlink can lead outside the directory the walk started
// from, and a component renamed or swapped for a symlink between two calls can
// only lead to what that name now is *inside* it: there is no check whose
// answer a later call could contradict. The caller then makes its one call on
// the last name inside the last directory opened.
import { lstatSync, readlinkSync } from 'node:fs';
import { HostDir } from './fd/host-dir.js';
import { ERRNO } from './wasi-defs.js';

/** A WASI call failed with this errno; the host-call wrapper returns it to the guest. */
export class WasiError extends Error {
  constructor(readonly errno: number) {
    super(`wasi errno ${errno}`);
  }
}

export interface Preopen {
  /** Real (symlink-free) host directory. */
  root: string;
  /** Path the guest sees it under, e.g. "/data" or "/". */
  guest: string;
  readonly: boolean;
}

/** Where a walk ended: one name inside one directory, or the start directory itself. */
export interface Walked {
  /** The directory holding `leaf` (the walk's start, or a directory it opened). */
  dir: HostDir;
  /** The last component; undefined when the path names the start directory itself ("." or "a/.."). */
  leaf: string | undefined;
  /** The components from the start to `dir` (for the symlink-target check and a new descriptor's name). */
  names: string[];
  /** The guest path ended in "/" or "/.": it must name a directory. */
  slash: boolean;
  /** Closes the directories the walk opened (never the start). Call it once, in a finally. */
  release(): void;
}

export const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
const MAX_SYMLINKS = 40;

/** Refuses any change under a read-only preopen (wasmtime answers EPERM: DirPerms without MUTATE). */
export function requireWritable(pre: Preopen): void {
  if (pre.readonly) throw new WasiError(ERRNO.PERM);
}

const codeOf = (e: unknown): unknown => (e as NodeJS.ErrnoException).code;

/**
 * Walks `path` from the directory `start` (borrowed: the caller keeps it).
 * `followFinal` follows a symlink in the last component (a trailing "/" does
 * too). A missing last component is allowed (creating calls need that);
 * missing earlier ones give ENOENT. `..` never climbs above `start` and a
 * symlink may not lead above it either (cap-std's rule, so wasmtime's):
 * leaving is EPERM, as cap-std reports an escape.
 */
export function walk(start: HostDir, path: string, followFinal: boolean): Walked {
  if (path.includes('\0')) throw new WasiError(ERRNO.INVAL);
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new WasiError(ERRNO.NAMETOOLONG);
  if (path.length === 0) throw new WasiError(ERRNO.NOENT);
  if (path.startsWith('/')) throw new WasiError(ERRNO.PERM);
  const frames = new Frames(start);
  try {
    let leaf = descend(frames, path.split('/'), followFinal);
    // The path ended on a directory the walk opened ("a/b/.."): name it by
    // its entry in its parent, like any other last component.
    if (leaf === undefined && frames.depth > 0) leaf = frames.pop();
    return {
      dir: frames.top(), leaf, names: [...frames.names], slash: leaf !== undefined && /\/\.?$/.test(path),
      release: () => frames.release(),
    };
  } catch (e) {
    frames.release();
    throw e;
  }
}

/** The walk itself: opens directories onto `frames`; returns the last name, if it was not opened. */
function descend(frames: Frames, components: string[], followFinal: boolean): string | undefined {
  let pending = components;
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (frames.depth === 0) throw new WasiError(ERRNO.PERM);
      frames.pop();
      continue;
    }
    if (Buffer.byteLength(c) > MAX_NAME_BYTES) throw new WasiError(ERRNO.NAMETOOLONG);
    const isLast = pending.every((p) => p === '' || p === '.');
    // A trailing "/" or "/." asks for a directory, so the last symlink is followed.
    if (isLast && !followFinal && pending.length === 0) return c;
    const top = frames.top();
    if (!isLast) {
      const opened = openDir(top, c);
      if (opened) {
        frames.push(c, opened);
        continue;
      }
    } else if (!isSymlink(top, c)) {
      return c;
    }
    // A symlink: read it here and walk its target from the same directory.
    if (++links > MAX_SYMLINKS) throw new WasiError(ERRNO.LOOP);
    const target = readlinkSync(top.at(c), 'utf8');
    if (target.startsWith('/')) throw new WasiError(ERRNO.PERM);
    pending = [...target.split('/'), ...pending];
  }
  return undefined;
}

/**
 * Host descriptors one walk holds at once. A path may be 2,000 components
 * deep; past this the oldest are closed and, should `..` come back to one,
 * reopened by name from the nearest one still held (still a walk from the
 * start, so still inside it).
 */
const MAX_HELD_DIRS = 32;

/** The directories a walk is in: [0] the start (borrowed); [i + 1] opened from [i] by names[i]. */
class Frames {
  private readonly dirs: (HostDir | undefined)[];
  readonly names: string[] = [];
  private held = 0;

  constructor(start: HostDir) {
    this.dirs = [start];
  }

  get depth(): number {
    return this.names.length;
  }

  push(name: string, dir: HostDir): void {
    this.dirs.push(dir);
    this.names.push(name);
    if (++this.held > MAX_HELD_DIRS) this.shed(this.dirs.length - 1);
  }

  /** Leaves the top directory; returns its name. */
  pop(): string {
    this.drop(this.dirs.length - 1);
    this.dirs.pop();
    return this.names.pop() as string;
  }

  top(): HostDir {
    const i = this.dirs.length - 1;
    const dir = this.dirs[i];
    if (dir) return dir;
    let from = i;
    while (!this.dirs[from - 1]) from--;
    for (let k = from; k <= i; k++) {
      this.dirs[k] = reopen(this.dirs[k - 1] as HostDir, this.names[k - 1] as string);
      if (++this.held > MAX_HELD_DIRS) this.shed(k);
    }
    return this.dirs[i] as HostDir;
  }

  release(): void {
    for (let i = this.dirs.length - 1; i > 0; i--) this.drop(i);
    this.dirs.length = 1;
    this.names.length = 0;
  }

  private drop(i: number): void {
    const dir = this.dirs[i];
    if (!dir || i === 0) return;
    dir.close();
    this.dirs[i] = undefined;
    this.held--;
  }

  /** Closes held directories from the oldest on (never the start, never `keep`), down to half the bound. */
  private shed(keep: number): void {
    for (let i = 1; i < keep && this.held > MAX_HELD_DIRS / 2; i++) this.drop(i);
  }
}

/** A directory the walk had closed, opened again by its name: it must still be a directory. */
function reopen(parent: HostDir, name: string): HostDir {
  const dir = openDir(parent, name);
  if (!dir) throw new WasiError(ERRNO.NOENT);
  return dir;
}

/** The directory `name` in `dir`, opened; undefined when it is a symlink (the caller follows it). */
function openDir(dir: HostDir, name: string): HostDir | undefined {
  try {
    return HostDir.openAt(dir, name);
  } catch (e) {
    const code = codeOf(e);
    // O_NOFOLLOW|O_DIRECTORY on a symlink: ELOOP, or ENOTDIR on Linux. Only then look closer.
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      if (isSymlink(dir, name)) return undefined;
      throw new WasiError(ERRNO.NOTDIR);
    }
    if (code === 'ENOENT') throw new WasiError(ERRNO.NOENT);
    throw e;
  }
}

/** Whether `name` in `dir` is a symlink now; false when it does not exist (a new last name). */
function isSymlink(dir: HostDir, name: string): boolean {
  try {
    return lstatSync(dir.at(name)).isSymbolicLink();
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOENT') return false;
    throw new WasiError(code === 'ENOTDIR' ? ERRNO.NOTDIR : ERRNO.NOENT);
  }
}

/**
 * Symlinks may only be created with relative targets that stay inside the
 * preopen when read from the link's directory (an escaping link would be
 * refused on use anyway; refusing it up front keeps the tree clean).
 */
export function checkSymlinkTarget(linkParts: readonly string[], target: string): void {
  if (target.length === 0 || target.includes('\0')) throw new WasiError(ERRNO.INVAL);
  if (target.startsWith('/')) throw new WasiError(ERRNO.PERM);
  if (Buffer.byteLength(target) > MAX_PATH_BYTES) throw new WasiError(ERRNO.NAMETOOLONG);
  const stack = linkParts.slice(0, -1);
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) throw new WasiError(ERRNO.PERM);
      stack.pop();
    } else stack.push(c);
  }
}
