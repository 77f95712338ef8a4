// Preopen path resolution: the one place that decides which host path a guest
// path may touch. Every component is walked by hand (lstat + readlink), so no
// `..`, absolute path, or symlink (absolute or relative) can lead outside the
// preopen's real root; the final host path is checked once more with realpath.
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
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

export interface ResolvedPath {
  /**
   * Host path: root joined with `parts`, plus the guest path's trailing "/" if it had one;
   * no component but possibly the last is a symlink.
   */
  host: string;
  /** Components below the preopen root. */
  parts: string[];
}

export const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
const MAX_SYMLINKS = 40;

/** The host path of a list of components under a preopen. */
export function hostPathOf(pre: Preopen, parts: readonly string[]): string {
  return parts.length === 0 ? pre.root : join(pre.root, ...parts);
}

/** Refuses any change under a read-only preopen (wasmtime answers EPERM: DirPerms without MUTATE). */
export function requireWritable(pre: Preopen): void {
  if (pre.readonly) throw new WasiError(ERRNO.PERM);
}

/** True when `real` (a realpath) is the root or below it. */
export function isInside(pre: Preopen, real: string): boolean {
  return real === pre.root || real.startsWith(pre.root.endsWith(sep) ? pre.root : pre.root + sep);
}

/**
 * Resolves `path` relative to the directory `base` (components under the
 * preopen). `followFinal` follows a symlink in the last component. A missing
 * last component is allowed (creating calls need that); missing earlier ones
 * give ENOENT. Leaving the preopen is EPERM, as cap-std reports an escape.
 */
export function resolvePath(pre: Preopen, base: readonly string[], path: string, followFinal: boolean): ResolvedPath {
  if (path.includes('\0')) throw new WasiError(ERRNO.INVAL);
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new WasiError(ERRNO.NAMETOOLONG);
  if (path.length === 0) throw new WasiError(ERRNO.NOENT);
  if (path.startsWith('/')) throw new WasiError(ERRNO.PERM);
  const stack = [...base];
  const floor = base.length;
  let pending = path.split('/');
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      // Never above the directory the path is relative to (cap-std's rule, so
      // wasmtime's): a descriptor for a subdirectory confines its paths to it.
      if (stack.length <= floor) throw new WasiError(ERRNO.PERM);
      stack.pop();
      continue;
    }
    if (Buffer.byteLength(c) > MAX_NAME_BYTES) throw new WasiError(ERRNO.NAMETOOLONG);
    stack.push(c);
    const rest = pending.filter((p) => p !== '' && p !== '.');
    const isLast = rest.length === 0;
    // A trailing "/" or "/." asks for a directory, so the last symlink is followed.
    const mustFollow = !isLast || followFinal || pending.length > 0;
    if (!mustFollow) continue;
    let st;
    try {
      st = lstatSync(hostPathOf(pre, stack));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (isLast && code === 'ENOENT') continue;
      throw new WasiError(code === 'ENOTDIR' ? ERRNO.NOTDIR : ERRNO.NOENT);
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINKS) throw new WasiError(ERRNO.LOOP);
      const target = readlinkSync(hostPathOf(pre, stack), 'utf8');
      if (target.startsWith('/')) throw new WasiError(ERRNO.PERM);
      stack.pop();
      pending = [...target.split('/'), ...pending];
    } else if (!isLast && !st.isDirectory()) {
      throw new WasiError(ERRNO.NOTDIR);
    }
  }
  // A trailing "/" (or "/.") stays on the host path, so the OS refuses it on a
  // non-directory as wasmtime's does (ENOTDIR, or ENOENT for a new name); the
  // last component is not a symlink here (a trailing slash followed it above).
  const slash = stack.length > 0 && /\/\.?$/.test(path);
  const resolved = { host: hostPathOf(pre, stack) + (slash ? '/' : ''), parts: stack };
  checkParentInside(pre, resolved);
  return resolved;
}

/**
 * Re-checks, just before use, that the directory holding the target really is
 * inside the preopen (a concurrent rename could have swapped a checked
 * directory for a symlink). Narrows that race to the syscall itself.
 */
export function checkParentInside(pre: Preopen, resolved: ResolvedPath): void {
  if (resolved.parts.length === 0) return;
  let real: string;
  try {
    real = realpathSync(hostPathOf(pre, resolved.parts.slice(0, -1)));
  } catch {
    throw new WasiError(ERRNO.NOENT);
  }
  if (!isInside(pre, real)) throw new WasiError(ERRNO.PERM);
}

/** After opening: the descriptor must name a file inside the preopen (Linux: /proc/self/fd). */
export function checkOpenedInside(pre: Preopen, hostFd: number): void {
  let real: string;
  try {
    real = readlinkSync(`/proc/self/fd/${hostFd}`);
  } catch {
    return; // no procfs (macOS): the component walk above is the check
  }
  if (!isInside(pre, real)) throw new WasiError(ERRNO.PERM);
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
