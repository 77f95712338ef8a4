// A directory under a preopen: the descriptor that path_* calls resolve
// against. It holds the directory's own OS descriptor, so it keeps naming that
// directory whatever is later renamed or swapped in its place (issue 21 item
// 2). Every path goes through fs.ts (walk), the one place that decides what a
// path may touch, and each call then acts on one name inside a directory the
// walk holds open (see host-dir.ts). Changes need a read-write preopen.
import {
  constants, fstatSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, readlinkSync, renameSync,
  rmdirSync, symlinkSync, unlinkSync, type BigIntStats,
} from 'node:fs';
import { checkSymlinkTarget, requireWritable, walk, WasiError, type Preopen, type Walked } from '../fs.js';
import type { ExactTimes } from '../times.js';
import { DIR_MUTATE_RIGHTS, DIR_RIGHTS, ERRNO, FILE_RIGHTS, FILETYPE, WRITE_RIGHTS } from '../wasi-defs.js';
import { Descriptor, filetypeOf, type Dirent, type Fdstat } from './descriptor.js';
import { FileFd } from './file.js';
import { closeQuietly, HostDir } from './host-dir.js';
import { planOpen, type OpenPlan, type OpenRequest } from './open-flags.js';
import { withPathLock } from './path-lock.js';

export type { OpenRequest } from './open-flags.js';

/** What every descriptor opened under one execute shares. */
export interface FsContext {
  times: ExactTimes;
  realtimeNs: () => bigint;
}

/** A trailing slash kept for the calls that never follow a last symlink (mkdir, rmdir, unlink, rename, link's new name). */
const named = (w: Walked, leaf: string): string => w.dir.at(leaf) + (w.slash ? '/' : '');

export class Directory extends Descriptor {
  private listing: Dirent[] | undefined;

  /**
   * `handle` is owned (closed with the descriptor); PreopenDir passes none and
   * opens its root on first use. `parts` are the components from the preopen
   * root when it was opened (only for the symlink-target check); `isRoot`: it
   * is the preopen's root, so it is never removed or renamed through a path.
   */
  constructor(
    readonly pre: Preopen, readonly parts: string[], protected readonly ctx: FsContext,
    private handle: HostDir | undefined, private readonly isRoot: boolean,
  ) {
    super();
  }

  fdstat(): Fdstat {
    const ro = this.pre.readonly;
    const rights = ro ? DIR_RIGHTS & ~DIR_MUTATE_RIGHTS : DIR_RIGHTS;
    return { filetype: FILETYPE.DIRECTORY, flags: 0, rights, inheriting: rights | (ro ? FILE_RIGHTS & ~WRITE_RIGHTS : FILE_RIGHTS) };
  }
  override filestat(): BigIntStats {
    return this.host().stat();
  }
  override get holdsHostFd(): boolean {
    return true;
  }

  // What a directory answers to the file calls.
  override read(): number {
    throw new WasiError(ERRNO.ISDIR);
  }
  override pread(): number {
    throw new WasiError(ERRNO.BADF);
  }
  override pwrite(): number {
    throw new WasiError(ERRNO.BADF);
  }
  override seek(): bigint {
    throw new WasiError(ERRNO.BADF);
  }
  override tell(): bigint {
    throw new WasiError(ERRNO.BADF);
  }
  override sync(): void {}
  override datasync(): void {}
  override advise(): void {
    throw new WasiError(ERRNO.ISDIR);
  }
  override allocate(): void {
    throw new WasiError(ERRNO.ISDIR);
  }
  override setFlags(): void {
    throw new WasiError(ERRNO.BADF);
  }
  override setSize(): void {
    throw new WasiError(ERRNO.ISDIR);
  }
  override setTimes(atim: bigint, mtim: bigint, fst: number): void {
    requireWritable(this.pre);
    const dir = this.host();
    this.ctx.times.apply(atim, mtim, fst, this.ctx.realtimeNs, dir.stat(), (a, m) => dir.setTimes(a, m), () => dir.stat());
  }

  /** The listing is taken at cookie 0 and kept, so cookies stay stable while the guest pages through it. */
  override readdir(cookie: bigint): Dirent[] {
    if (cookie === 0n || !this.listing) this.listing = withPathLock(() => this.list());
    return this.listing;
  }

  override close(): void {
    this.handle?.close();
    this.handle = undefined;
  }

  /** The host directory this descriptor names. */
  protected host(): HostDir {
    this.handle ??= this.openHandle();
    return this.handle;
  }

  /** A descriptor without a handle: only a preopen, which opens its root on first use. */
  protected openHandle(): HostDir {
    throw new WasiError(ERRNO.BADF);
  }

  private list(): Dirent[] {
    const dir = this.host();
    const self = dir.stat();
    // The root's ".." is itself: nothing above a preopen is the guest's to see.
    const parent = this.isRoot ? self : lstatSync(dir.at('..'), { bigint: true });
    const out: Dirent[] = [
      { name: Buffer.from('.'), ino: self.ino, type: FILETYPE.DIRECTORY },
      { name: Buffer.from('..'), ino: parent.ino, type: FILETYPE.DIRECTORY },
    ];
    const prefix = Buffer.from(`${dir.self()}/`);
    for (const name of readdirSync(dir.self(), { encoding: 'buffer' })) {
      try {
        const st = lstatSync(Buffer.concat([prefix, name]), { bigint: true });
        out.push({ name, ino: st.ino, type: filetypeOf(st) });
      } catch {
        /* removed meanwhile */
      }
    }
    return out;
  }

  // ---- path calls ------------------------------------------------------------

  /** Walks `path` from this directory, runs `use` on where it ended, and closes what the walk opened. */
  private within<T>(path: string, follow: boolean, use: (w: Walked) => T): T {
    return withPathLock(() => {
      const w = walk(this.host(), path, follow);
      try {
        return use(w);
      } finally {
        w.release();
      }
    });
  }

  /** path_open: a FileFd, or a Directory when the path names one. */
  open(path: string, req: OpenRequest): Descriptor {
    const plan = planOpen(req);
    if (plan.create || plan.write || plan.access.append) requireWritable(this.pre);
    // Opening without creating tries the name as it is first and follows a
    // symlink only when the open says it met one: one call on the hot path.
    if (req.follow && !plan.create) {
      try {
        return this.within(path, false, (w) => this.openAt(w, plan));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e;
      }
    }
    return this.within(path, req.follow, (w) => this.openAt(w, plan));
  }

  private openAt(w: Walked, plan: OpenPlan): Descriptor {
    // "name/" must be a directory, as open(2) has it; the host call gets no
    // trailing slash, since that would make the kernel follow a symlink.
    if (w.slash && plan.create) throw new WasiError(ERRNO.ISDIR);
    const hostFd = openSync(w.dir.at(w.leaf ?? '.'), plan.flags | (w.slash ? constants.O_DIRECTORY : 0), 0o644);
    let st: BigIntStats;
    try {
      st = fstatSync(hostFd, { bigint: true });
    } catch (e) {
      closeQuietly(hostFd);
      throw e;
    }
    if (st.isDirectory()) {
      const parts = w.leaf === undefined ? [...this.parts, ...w.names] : [...this.parts, ...w.names, w.leaf];
      return new Directory(this.pre, parts, this.ctx, new HostDir(hostFd, w.dir.at(w.leaf ?? '.')), this.isRoot && w.leaf === undefined);
    }
    return new FileFd(hostFd, filetypeOf(st), { ...plan.access }, this.ctx.times, this.ctx.realtimeNs);
  }

  filestatAt(path: string, follow: boolean): BigIntStats {
    return this.within(path, follow, (w) => {
      if (w.leaf === undefined) return w.dir.stat();
      const st = lstatSync(w.dir.at(w.leaf), { bigint: true });
      if (w.slash && !st.isDirectory()) throw new WasiError(ERRNO.NOTDIR);
      return st;
    });
  }

  setTimesAt(path: string, follow: boolean, atim: bigint, mtim: bigint, fst: number): void {
    this.within(path, follow, (w) => {
      requireWritable(this.pre);
      const leaf = w.leaf;
      if (leaf === undefined) {
        this.ctx.times.apply(atim, mtim, fst, this.ctx.realtimeNs, w.dir.stat(), (a, m) => w.dir.setTimes(a, m), () => w.dir.stat());
        return;
      }
      // The walk followed any symlink it was asked to: the call itself never follows one.
      const host = w.dir.at(leaf);
      const st = () => lstatSync(host, { bigint: true });
      const before = st();
      if (w.slash && !before.isDirectory()) throw new WasiError(ERRNO.NOTDIR);
      this.ctx.times.apply(atim, mtim, fst, this.ctx.realtimeNs, before, (a, m) => lutimesSync(host, a, m), st);
    });
  }

  createDirectory(path: string): void {
    requireWritable(this.pre);
    this.within(path, false, (w) => {
      if (w.leaf === undefined) throw new WasiError(ERRNO.EXIST);
      mkdirSync(named(w, w.leaf), 0o755);
    });
  }

  removeDirectory(path: string): void {
    requireWritable(this.pre);
    this.within(path, false, (w) => {
      if (w.leaf === undefined) throw new WasiError(ERRNO.BUSY); // never the directory itself
      rmdirSync(named(w, w.leaf));
    });
  }

  unlinkFile(path: string): void {
    requireWritable(this.pre);
    this.within(path, false, (w) => {
      if (w.leaf === undefined || lstatSync(w.dir.at(w.leaf)).isDirectory()) throw new WasiError(ERRNO.ISDIR);
      unlinkSync(named(w, w.leaf));
    });
  }

  rename(from: string, toDir: Directory, to: string): void {
    requireWritable(this.pre);
    requireWritable(toDir.pre);
    this.within(from, false, (src) => toDir.within(to, false, (dst) => {
      if (src.leaf === undefined || dst.leaf === undefined) throw new WasiError(ERRNO.BUSY);
      renameSync(named(src, src.leaf), named(dst, dst.leaf));
    }));
  }

  link(from: string, followFrom: boolean, toDir: Directory, to: string): void {
    requireWritable(this.pre);
    requireWritable(toDir.pre);
    if (followFrom) throw new WasiError(ERRNO.INVAL); // as wasmtime
    this.within(from, false, (src) => toDir.within(to, false, (dst) => {
      // No hard links to directories; "name/" must be one.
      if (src.leaf === undefined) throw new WasiError(ERRNO.PERM);
      if (src.slash) throw new WasiError(lstatSync(src.dir.at(src.leaf)).isDirectory() ? ERRNO.PERM : ERRNO.NOTDIR);
      if (dst.leaf === undefined) throw new WasiError(ERRNO.EXIST);
      linkSync(src.dir.at(src.leaf), named(dst, dst.leaf));
    }));
  }

  symlink(target: string, path: string): void {
    requireWritable(this.pre);
    this.within(path, false, (w) => {
      if (w.leaf === undefined) throw new WasiError(ERRNO.EXIST);
      checkSymlinkTarget([...this.parts, ...w.names, w.leaf], target);
      symlinkSync(target, named(w, w.leaf));
    });
  }

  readlink(path: string): Buffer {
    return this.within(path, false, (w) => {
      if (w.leaf === undefined) throw new WasiError(ERRNO.INVAL);
      // "name/" was followed by the walk: what is left is a directory (not a link) or not one.
      if (w.slash) throw new WasiError(lstatSync(w.dir.at(w.leaf)).isDirectory() ? ERRNO.INVAL : ERRNO.NOTDIR);
      return readlinkSync(w.dir.at(w.leaf), { encoding: 'buffer' });
    });
  }
}
