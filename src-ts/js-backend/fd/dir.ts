// A directory under a preopen: the descriptor that path_* calls resolve
// against. Every path goes through fs.ts (resolvePath), the one place that
// decides what a path may touch; changes need a read-write preopen.
import {
  closeSync, constants, fstatSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync,
  readlinkSync, renameSync, rmdirSync, statSync, symlinkSync, unlinkSync, utimesSync, type BigIntStats,
} from 'node:fs';
import {
  checkOpenedInside, checkSymlinkTarget, hostPathOf, requireWritable, resolvePath, WasiError,
  type Preopen, type ResolvedPath,
} from '../fs.js';
import type { ExactTimes } from '../times.js';
import {
  DIR_MUTATE_RIGHTS, DIR_RIGHTS, ERRNO, FDFLAGS, FILE_RIGHTS, FILETYPE, OFLAGS, RIGHTS, WRITE_RIGHTS,
} from '../wasi-defs.js';
import { Descriptor, filetypeOf, type Dirent, type Fdstat } from './descriptor.js';
import { FileFd } from './file.js';

/** What every descriptor opened under one execute shares. */
export interface FsContext {
  times: ExactTimes;
  realtimeNs: () => bigint;
}

export interface OpenRequest {
  oflags: number;
  /** fs_rights_base as the guest passed it. */
  rights: bigint;
  fdflags: number;
  follow: boolean;
}

const safeClose = (fd: number): void => {
  try {
    closeSync(fd);
  } catch {
    /* already gone */
  }
};

export class Directory extends Descriptor {
  private listing: Dirent[] | undefined;

  constructor(readonly pre: Preopen, readonly parts: string[], protected readonly ctx: FsContext) {
    super();
  }

  fdstat(): Fdstat {
    const ro = this.pre.readonly;
    const rights = ro ? DIR_RIGHTS & ~DIR_MUTATE_RIGHTS : DIR_RIGHTS;
    return { filetype: FILETYPE.DIRECTORY, flags: 0, rights, inheriting: rights | (ro ? FILE_RIGHTS & ~WRITE_RIGHTS : FILE_RIGHTS) };
  }
  override filestat(): BigIntStats {
    return statSync(this.host, { bigint: true });
  }
  override directory(): Directory {
    return this;
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
    const host = this.host;
    const st = () => statSync(host, { bigint: true });
    this.ctx.times.apply(atim, mtim, fst, this.ctx.realtimeNs, st(), (a, m) => utimesSync(host, a, m), st);
  }

  /** The listing is taken at cookie 0 and kept, so cookies stay stable while the guest pages through it. */
  override readdir(cookie: bigint): Dirent[] {
    if (cookie === 0n || !this.listing) this.listing = this.list();
    return this.listing;
  }

  private get host(): string {
    return hostPathOf(this.pre, this.parts);
  }

  private list(): Dirent[] {
    const host = this.host;
    const self = statSync(host, { bigint: true });
    const parent = this.parts.length === 0 ? self : statSync(hostPathOf(this.pre, this.parts.slice(0, -1)), { bigint: true });
    const out: Dirent[] = [
      { name: Buffer.from('.'), ino: self.ino, type: FILETYPE.DIRECTORY },
      { name: Buffer.from('..'), ino: parent.ino, type: FILETYPE.DIRECTORY },
    ];
    for (const name of readdirSync(host, { encoding: 'buffer' })) {
      try {
        const st = lstatSync(`${host}/${name.toString()}`, { bigint: true });
        out.push({ name, ino: st.ino, type: filetypeOf(st) });
      } catch {
        /* removed meanwhile */
      }
    }
    return out;
  }

  // ---- path calls ------------------------------------------------------------

  resolve(path: string, follow: boolean): ResolvedPath {
    return resolvePath(this.pre, this.parts, path, follow);
  }

  /** path_open: a FileFd, or a Directory when the path names one. */
  open(path: string, req: OpenRequest): Descriptor {
    const create = (req.oflags & OFLAGS.CREAT) !== 0;
    const trunc = (req.oflags & OFLAGS.TRUNC) !== 0;
    const rights = BigInt.asUintN(64, req.rights);
    // As wasmtime: FD_WRITE (or truncating) opens for writing, FD_READ for reading.
    const write = (rights & RIGHTS.FD_WRITE) !== 0n || trunc;
    const read = (rights & (RIGHTS.FD_READ | RIGHTS.FD_READDIR)) !== 0n;
    if ((req.oflags & OFLAGS.DIRECTORY) && (create || trunc || (req.oflags & OFLAGS.EXCL))) throw new WasiError(ERRNO.INVAL);
    if (create || write || (req.fdflags & FDFLAGS.APPEND)) requireWritable(this.pre);
    const at = this.resolve(path, req.follow);
    let flags = (write ? (read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY) |
      constants.O_NOFOLLOW | constants.O_NONBLOCK;
    if (create) flags |= constants.O_CREAT;
    if (req.oflags & OFLAGS.EXCL) flags |= constants.O_EXCL;
    if (trunc) flags |= constants.O_TRUNC;
    if (req.fdflags & FDFLAGS.SYNC) flags |= constants.O_SYNC;
    if (req.fdflags & (FDFLAGS.DSYNC | FDFLAGS.RSYNC)) flags |= constants.O_DSYNC;
    if (req.oflags & OFLAGS.DIRECTORY) flags |= constants.O_DIRECTORY;
    const hostFd = openSync(at.host, flags, 0o644);
    let st: BigIntStats;
    try {
      checkOpenedInside(this.pre, hostFd);
      st = fstatSync(hostFd, { bigint: true });
    } catch (e) {
      safeClose(hostFd);
      throw e;
    }
    if (st.isDirectory()) {
      safeClose(hostFd);
      return new Directory(this.pre, at.parts, this.ctx);
    }
    return new FileFd(hostFd, filetypeOf(st), {
      read: read || !write, write, append: (req.fdflags & FDFLAGS.APPEND) !== 0,
      syncFlags: req.fdflags & (FDFLAGS.SYNC | FDFLAGS.DSYNC | FDFLAGS.RSYNC),
      setTimes: write || (rights & RIGHTS.FD_FILESTAT_SET_TIMES) !== 0n,
    }, this.ctx.times, this.ctx.realtimeNs);
  }

  filestatAt(path: string, follow: boolean): BigIntStats {
    const at = this.resolve(path, follow);
    return follow ? statSync(at.host, { bigint: true }) : lstatSync(at.host, { bigint: true });
  }

  setTimesAt(path: string, follow: boolean, atim: bigint, mtim: bigint, fst: number): void {
    const at = this.resolve(path, follow);
    requireWritable(this.pre);
    const st = () => (follow ? statSync(at.host, { bigint: true }) : lstatSync(at.host, { bigint: true }));
    this.ctx.times.apply(atim, mtim, fst, this.ctx.realtimeNs, st(), (a, m) => (follow ? utimesSync : lutimesSync)(at.host, a, m), st);
  }

  createDirectory(path: string): void {
    requireWritable(this.pre);
    mkdirSync(this.resolve(path, false).host, 0o755);
  }

  removeDirectory(path: string): void {
    requireWritable(this.pre);
    const at = this.resolve(path, false);
    if (at.parts.length === 0) throw new WasiError(ERRNO.BUSY); // never the preopen itself
    rmdirSync(at.host);
  }

  unlinkFile(path: string): void {
    requireWritable(this.pre);
    const at = this.resolve(path, false);
    if (lstatSync(at.host).isDirectory()) throw new WasiError(ERRNO.ISDIR);
    unlinkSync(at.host);
  }

  rename(from: string, toDir: Directory, to: string): void {
    requireWritable(this.pre);
    requireWritable(toDir.pre);
    const src = this.resolve(from, false);
    const dst = toDir.resolve(to, false);
    if (src.parts.length === 0 || dst.parts.length === 0) throw new WasiError(ERRNO.BUSY);
    renameSync(src.host, dst.host);
  }

  link(from: string, followFrom: boolean, toDir: Directory, to: string): void {
    requireWritable(this.pre);
    requireWritable(toDir.pre);
    if (followFrom) throw new WasiError(ERRNO.INVAL); // as wasmtime
    linkSync(this.resolve(from, false).host, toDir.resolve(to, false).host);
  }

  symlink(target: string, path: string): void {
    requireWritable(this.pre);
    const at = this.resolve(path, false);
    checkSymlinkTarget(at.parts, target);
    symlinkSync(target, at.host);
  }

  readlink(path: string): Buffer {
    return readlinkSync(this.resolve(path, false).host, { encoding: 'buffer' });
  }
}
