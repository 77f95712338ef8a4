// WASI preview 1 in TypeScript, one small function per call. Runs inside the
// worker with synchronous fs calls. Paths go through fs.ts only. Calls never
// throw into the host: failures become errnos (see `guard`).
import {
  closeSync, constants, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, futimesSync, linkSync,
  lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, renameSync, rmdirSync,
  statSync, symlinkSync, unlinkSync, utimesSync, lutimesSync, writeSync, type BigIntStats,
} from 'node:fs';
import { getRandomValues } from 'node:crypto';
import { CappedOutput } from './limits.js';
import { ExactTimes } from './times.js';
import {
  checkOpenedInside, checkSymlinkTarget, hostPathOf, requireWritable, resolvePath, WasiError,
  type Preopen, type ResolvedPath,
} from './fs.js';
import {
  CLOCK, DIR_MUTATE_RIGHTS, DIR_RIGHTS, ERRNO, errnoFromNode, FDFLAGS, FILE_RIGHTS, FILETYPE,
  FSTFLAGS, LOOKUP_SYMLINK_FOLLOW, OFLAGS, RIGHTS, WASI_SIGNATURES, WHENCE, WRITE_RIGHTS,
} from './wasi-defs.js';

/** Thrown by proc_exit; unwinds the guest to the runner. */
export class ExitSignal {
  constructor(readonly code: number) {}
}

interface DirEntry { kind: 'dir'; pre: Preopen; parts: string[]; preopenName?: string; listing?: Dirent[] }
interface FileEntry {
  kind: 'file'; pre: Preopen; parts: string[]; hostFd: number; pos: bigint;
  read: boolean; write: boolean; append: boolean; filetype: number;
  /** The SYNC/DSYNC/RSYNC fdflags it was opened with (reported back by fd_fdstat_get). */
  syncFlags: number;
  /** Opened for writing or with the FD_FILESTAT_SET_TIMES right. */
  setTimes: boolean;
}
type FdEntry = { kind: 'stdin' } | { kind: 'out'; sink: CappedOutput } | DirEntry | FileEntry;
interface Dirent { name: Buffer; ino: bigint; type: number }

export interface WasiOptions {
  args: string[];
  env: string[];
  stdin: Uint8Array;
  stdout: CappedOutput;
  stderr: CappedOutput;
  preopens: Preopen[];
  /** Sleeps wait on index 0 of this; the pool notifies it to cut a sleep short. */
  wake: Int32Array;
}

/** Host descriptors one execute may hold open at once. */
export const MAX_OPEN_FILES = 1024;
const DECODER = new TextDecoder('utf-8', { fatal: true });

type HostFn = (...args: never[]) => number | void;

export class Wasi {
  memory: WebAssembly.Memory | undefined;
  private readonly fds = new Map<number, FdEntry>();
  private stdinPos = 0;
  private openFiles = 0;
  private view: DataView | undefined;
  private readonly times = new ExactTimes();

  constructor(private readonly opts: WasiOptions) {
    this.fds.set(0, { kind: 'stdin' });
    this.fds.set(1, { kind: 'out', sink: opts.stdout });
    this.fds.set(2, { kind: 'out', sink: opts.stderr });
    let fd = 3;
    for (const pre of opts.preopens) this.fds.set(fd++, { kind: 'dir', pre, parts: [], preopenName: pre.guest });
  }

  /** Closes every host descriptor the guest left open (workers are reused). */
  closeAll(): void {
    for (const e of this.fds.values()) if (e.kind === 'file') safeClose(e.hostFd);
    this.fds.clear();
  }

  /** The import object: every preview 1 name, unimplemented ones answering ENOSYS. */
  imports(): Record<string, HostFn> {
    const impl = this.calls();
    const out: Record<string, HostFn> = {};
    for (const name of Object.keys(WASI_SIGNATURES)) {
      const fn = impl[name];
      out[name] = fn ? guard(fn) : () => ERRNO.NOSYS;
    }
    // proc_exit must unwind, not return an errno. Any code is reported as the
    // unsigned 32-bit value the guest passed (256 stays 256, -1 is 4294967295),
    // as the native backend does; wasmtime-wasi's own [0..126) check is not applied.
    out.proc_exit = (code: number) => {
      throw new ExitSignal(code >>> 0);
    };
    return out;
  }

  // ---- memory access -------------------------------------------------------

  private dv(): DataView {
    const mem = this.memory;
    if (!mem) throw new WasiError(ERRNO.FAULT);
    if (!this.view || this.view.buffer !== mem.buffer) this.view = new DataView(mem.buffer);
    return this.view;
  }
  private bytes(ptr: number, len: number): Uint8Array {
    const dv = this.dv();
    const p = ptr >>> 0;
    const n = len >>> 0;
    if (p + n > dv.byteLength) throw new WasiError(ERRNO.FAULT);
    return new Uint8Array(dv.buffer, p, n);
  }
  private check(ptr: number, size: number): number {
    const p = ptr >>> 0;
    if (p + size > this.dv().byteLength) throw new WasiError(ERRNO.FAULT);
    return p;
  }
  private u32(ptr: number): number {
    return this.dv().getUint32(this.check(ptr, 4), true);
  }
  private setU32(ptr: number, v: number): void {
    this.dv().setUint32(this.check(ptr, 4), v >>> 0, true);
  }
  private setU64(ptr: number, v: bigint): void {
    this.dv().setBigUint64(this.check(ptr, 8), BigInt.asUintN(64, v), true);
  }
  private str(ptr: number, len: number): string {
    try {
      return DECODER.decode(this.bytes(ptr, len));
    } catch (e) {
      if (e instanceof WasiError) throw e;
      throw new WasiError(ERRNO.ILSEQ);
    }
  }
  private iovecs(ptr: number, count: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count >>> 0; i++) {
      const at = (ptr >>> 0) + i * 8;
      out.push(this.bytes(this.u32(at), this.u32(at + 4)));
    }
    return out;
  }

  // ---- descriptors ---------------------------------------------------------

  private entry(fd: number): FdEntry {
    const e = this.fds.get(fd >>> 0);
    if (!e) throw new WasiError(ERRNO.BADF);
    return e;
  }
  private file(fd: number): FileEntry {
    const e = this.entry(fd);
    if (e.kind === 'file') return e;
    throw new WasiError(e.kind === 'dir' ? ERRNO.ISDIR : ERRNO.SPIPE);
  }
  private dir(fd: number): DirEntry {
    const e = this.entry(fd);
    if (e.kind !== 'dir') throw new WasiError(ERRNO.NOTDIR);
    return e;
  }
  private allocFd(entry: FdEntry): number {
    let fd = 3;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, entry);
    return fd;
  }
  private path(dirFd: number, ptr: number, len: number, follow: boolean): { dir: DirEntry; at: ResolvedPath } {
    const dir = this.dir(dirFd);
    return { dir, at: resolvePath(dir.pre, dir.parts, this.str(ptr, len), follow) };
  }

  private writeFilestat(ptr: number, st: BigIntStats): void {
    const p = this.check(ptr, 64);
    const dv = this.dv();
    dv.setBigUint64(p, st.dev, true);
    dv.setBigUint64(p + 8, st.ino, true);
    dv.setUint8(p + 16, filetypeOf(st));
    dv.setBigUint64(p + 24, st.nlink, true);
    dv.setBigUint64(p + 32, st.size, true);
    const t = this.times.view(st);
    dv.setBigUint64(p + 40, t.atim, true);
    dv.setBigUint64(p + 48, t.mtim, true);
    dv.setBigUint64(p + 56, st.ctimeNs, true);
  }

  // ---- the calls -----------------------------------------------------------

  private calls(): Record<string, HostFn> {
    const o = this.opts;
    const encodedArgs = o.args.map((a) => Buffer.from(`${a}\0`));
    const encodedEnv = o.env.map((a) => Buffer.from(`${a}\0`));
    const sizes = (list: Buffer[], countPtr: number, sizePtr: number): number => {
      this.setU32(countPtr, list.length);
      this.setU32(sizePtr, list.reduce((n, b) => n + b.length, 0));
      return ERRNO.SUCCESS;
    };
    const fill = (list: Buffer[], ptrsPtr: number, bufPtr: number): number => {
      let at = bufPtr >>> 0;
      list.forEach((b, i) => {
        this.setU32((ptrsPtr >>> 0) + i * 4, at);
        this.bytes(at, b.length).set(b);
        at += b.length;
      });
      return ERRNO.SUCCESS;
    };

    return {
      args_sizes_get: (c: number, s: number) => sizes(encodedArgs, c, s),
      args_get: (p: number, b: number) => fill(encodedArgs, p, b),
      environ_sizes_get: (c: number, s: number) => sizes(encodedEnv, c, s),
      environ_get: (p: number, b: number) => fill(encodedEnv, p, b),

      clock_res_get: (id: number, ptr: number) => {
        if (id !== CLOCK.REALTIME && id !== CLOCK.MONOTONIC) throw new WasiError(clockErrno(id));
        this.setU64(ptr, 1000n);
        return ERRNO.SUCCESS;
      },
      clock_time_get: (id: number, _precision: bigint, ptr: number) => {
        this.setU64(ptr, now(id));
        return ERRNO.SUCCESS;
      },
      random_get: (ptr: number, len: number) => {
        const buf = this.bytes(ptr, len);
        // getRandomValues fills at most 64 KiB per call.
        for (let i = 0; i < buf.length; i += 65536) getRandomValues(buf.subarray(i, i + 65536));
        return ERRNO.SUCCESS;
      },
      sched_yield: () => ERRNO.SUCCESS,
      proc_raise: () => ERRNO.NOSYS,

      fd_write: (fd: number, iovs: number, n: number, outPtr: number) => {
        const written = this.writeTo(this.entry(fd), this.iovecs(iovs, n), undefined);
        this.setU32(outPtr, written);
        return ERRNO.SUCCESS;
      },
      fd_pwrite: (fd: number, iovs: number, n: number, offset: bigint, outPtr: number) => {
        const e = this.entry(fd);
        if (e.kind !== 'file') throw new WasiError(e.kind === 'dir' ? ERRNO.BADF : ERRNO.SPIPE);
        this.setU32(outPtr, this.writeTo(e, this.iovecs(iovs, n), offset));
        return ERRNO.SUCCESS;
      },
      fd_read: (fd: number, iovs: number, n: number, outPtr: number) => {
        this.setU32(outPtr, this.readFrom(this.entry(fd), this.iovecs(iovs, n), undefined));
        return ERRNO.SUCCESS;
      },
      fd_pread: (fd: number, iovs: number, n: number, offset: bigint, outPtr: number) => {
        const e = this.entry(fd);
        if (e.kind !== 'file') throw new WasiError(e.kind === 'dir' ? ERRNO.BADF : ERRNO.SPIPE);
        this.setU32(outPtr, this.readFrom(e, this.iovecs(iovs, n), offset));
        return ERRNO.SUCCESS;
      },
      fd_seek: (fd: number, offset: bigint, whence: number, outPtr: number) => {
        const f = this.seekable(fd);
        let base: bigint;
        if (whence === WHENCE.SET) base = 0n;
        else if (whence === WHENCE.CUR) base = f.pos;
        else if (whence === WHENCE.END) base = fstatSync(f.hostFd, { bigint: true }).size;
        else throw new WasiError(ERRNO.INVAL);
        const next = base + offset;
        if (next < 0n) throw new WasiError(ERRNO.INVAL);
        f.pos = next;
        this.setU64(outPtr, next);
        return ERRNO.SUCCESS;
      },
      fd_tell: (fd: number, outPtr: number) => {
        this.setU64(outPtr, this.seekable(fd).pos);
        return ERRNO.SUCCESS;
      },
      fd_close: (fd: number) => {
        const e = this.entry(fd);
        if (e.kind === 'file') {
          safeClose(e.hostFd);
          this.openFiles--;
        }
        this.fds.delete(fd >>> 0);
        return ERRNO.SUCCESS;
      },
      fd_sync: (fd: number) => this.sync(fd, fsyncSync),
      fd_datasync: (fd: number) => this.sync(fd, fdatasyncSync),
      fd_advise: (fd: number) => {
        this.file(fd);
        return ERRNO.SUCCESS;
      },
      fd_allocate: (fd: number) => {
        this.file(fd);
        return ERRNO.NOTSUP;
      },
      fd_fdstat_get: (fd: number, ptr: number) => {
        const e = this.entry(fd);
        const p = this.check(ptr, 24);
        const dv = this.dv();
        let type: number = FILETYPE.UNKNOWN;
        let flags = 0;
        let rights: bigint;
        let inheriting = 0n;
        if (e.kind === 'stdin') rights = RIGHTS.FD_READ | RIGHTS.POLL_FD_READWRITE;
        else if (e.kind === 'out') rights = RIGHTS.FD_WRITE | RIGHTS.POLL_FD_READWRITE;
        else if (e.kind === 'dir') {
          type = FILETYPE.DIRECTORY;
          rights = e.pre.readonly ? DIR_RIGHTS & ~DIR_MUTATE_RIGHTS : DIR_RIGHTS;
          inheriting = rights | (e.pre.readonly ? FILE_RIGHTS & ~WRITE_RIGHTS : FILE_RIGHTS);
        } else {
          type = e.filetype;
          flags = (e.append ? FDFLAGS.APPEND : 0) | e.syncFlags;
          rights = FILE_RIGHTS;
          if (!e.write) rights &= ~WRITE_RIGHTS;
          if (!e.setTimes) rights &= ~RIGHTS.FD_FILESTAT_SET_TIMES;
          if (!e.read) rights &= ~RIGHTS.FD_READ;
        }
        dv.setUint8(p, type);
        dv.setUint16(p + 2, flags, true);
        dv.setBigUint64(p + 8, rights, true);
        dv.setBigUint64(p + 16, inheriting, true);
        return ERRNO.SUCCESS;
      },
      fd_fdstat_set_flags: (fd: number, flags: number) => {
        const e = this.entry(fd);
        if (e.kind !== 'file') return e.kind === 'dir' ? ERRNO.BADF : ERRNO.SUCCESS;
        if (flags & ~(FDFLAGS.APPEND | FDFLAGS.NONBLOCK)) return ERRNO.NOTSUP;
        e.append = (flags & FDFLAGS.APPEND) !== 0;
        return ERRNO.SUCCESS;
      },
      fd_fdstat_set_rights: () => ERRNO.NOTSUP,
      fd_filestat_get: (fd: number, ptr: number) => {
        const e = this.entry(fd);
        if (e.kind === 'file') this.writeFilestat(ptr, fstatSync(e.hostFd, { bigint: true }));
        else if (e.kind === 'dir') this.writeFilestat(ptr, statSync(hostPathOf(e.pre, e.parts), { bigint: true }));
        else this.bytes(ptr, 64).fill(0); // stdio: filetype unknown, all zero
        return ERRNO.SUCCESS;
      },
      fd_filestat_set_size: (fd: number, size: bigint) => {
        const f = this.file(fd);
        if (!f.write) throw new WasiError(ERRNO.BADF);
        ftruncateSync(f.hostFd, Number(size));
        return ERRNO.SUCCESS;
      },
      fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, fst: number) => {
        const e = this.entry(fd);
        if (e.kind === 'file') {
          if (!e.setTimes) throw new WasiError(ERRNO.BADF);
          const fd = e.hostFd;
          this.times.apply(atim, mtim, fst, realtimeNs, fstatSync(fd, { bigint: true }),
            (a, m) => futimesSync(fd, a, m), () => fstatSync(fd, { bigint: true }));
        } else if (e.kind === 'dir') {
          requireWritable(e.pre);
          const host = hostPathOf(e.pre, e.parts);
          this.times.apply(atim, mtim, fst, realtimeNs, statSync(host, { bigint: true }),
            (a, m) => utimesSync(host, a, m), () => statSync(host, { bigint: true }));
        } else throw new WasiError(ERRNO.BADF);
        return ERRNO.SUCCESS;
      },
      fd_prestat_get: (fd: number, ptr: number) => {
        const e = this.entry(fd);
        if (e.kind !== 'dir' || e.preopenName === undefined) throw new WasiError(ERRNO.BADF);
        const p = this.check(ptr, 8);
        this.dv().setUint32(p, 0, true);
        this.dv().setUint32(p + 4, Buffer.byteLength(e.preopenName), true);
        return ERRNO.SUCCESS;
      },
      fd_prestat_dir_name: (fd: number, ptr: number, len: number) => {
        const e = this.entry(fd);
        if (e.kind !== 'dir' || e.preopenName === undefined) throw new WasiError(ERRNO.BADF);
        const name = Buffer.from(e.preopenName);
        if ((len >>> 0) < name.length) throw new WasiError(ERRNO.NAMETOOLONG);
        this.bytes(ptr, name.length).set(name);
        return ERRNO.SUCCESS;
      },
      fd_readdir: (fd: number, buf: number, len: number, cookie: bigint, usedPtr: number) => {
        const d = this.dir(fd);
        if (cookie === 0n || !d.listing) d.listing = listDir(d);
        const out = this.bytes(buf, len);
        let used = 0;
        for (let i = Number(cookie); i < d.listing.length && used < out.length; i++) {
          const ent = d.listing[i] as Dirent;
          const rec = Buffer.alloc(24 + ent.name.length);
          rec.writeBigUInt64LE(BigInt(i + 1), 0);
          rec.writeBigUInt64LE(ent.ino, 8);
          rec.writeUInt32LE(ent.name.length, 16);
          rec.writeUInt8(ent.type, 20);
          ent.name.copy(rec, 24);
          // A record that does not fit is cut short: the caller retries with a bigger buffer.
          const take = Math.min(rec.length, out.length - used);
          out.set(rec.subarray(0, take), used);
          used += take;
        }
        this.setU32(usedPtr, used);
        return ERRNO.SUCCESS;
      },
      fd_renumber: (from: number, to: number) => {
        const e = this.entry(from);
        const target = this.entry(to);
        if ((from >>> 0) === (to >>> 0)) return ERRNO.SUCCESS;
        if (target.kind === 'file') {
          safeClose(target.hostFd);
          this.openFiles--;
        }
        this.fds.set(to >>> 0, e);
        this.fds.delete(from >>> 0);
        return ERRNO.SUCCESS;
      },

      path_open: (dirFd: number, dirflags: number, p: number, l: number, oflags: number,
        base: bigint, _inheriting: bigint, fdflags: number, outPtr: number) => {
        const dir = this.dir(dirFd);
        const path = this.str(p, l);
        const create = (oflags & OFLAGS.CREAT) !== 0;
        const trunc = (oflags & OFLAGS.TRUNC) !== 0;
        // As wasmtime: FD_WRITE (or truncating) opens for writing, FD_READ for reading.
        const write = (BigInt.asUintN(64, base) & RIGHTS.FD_WRITE) !== 0n || trunc;
        const read = (BigInt.asUintN(64, base) & (RIGHTS.FD_READ | RIGHTS.FD_READDIR)) !== 0n;
        if ((oflags & OFLAGS.DIRECTORY) && (create || trunc || (oflags & OFLAGS.EXCL))) throw new WasiError(ERRNO.INVAL);
        const writeOpen = write;
        if (create || writeOpen || (fdflags & FDFLAGS.APPEND)) requireWritable(dir.pre);
        const at = resolvePath(dir.pre, dir.parts, path, (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0);
        if (this.openFiles >= MAX_OPEN_FILES) throw new WasiError(ERRNO.MFILE);
        let flags = (writeOpen ? (read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY) |
          constants.O_NOFOLLOW | constants.O_NONBLOCK;
        if (create) flags |= constants.O_CREAT;
        if (oflags & OFLAGS.EXCL) flags |= constants.O_EXCL;
        if (trunc) flags |= constants.O_TRUNC;
        if (fdflags & FDFLAGS.SYNC) flags |= constants.O_SYNC;
        if (fdflags & (FDFLAGS.DSYNC | FDFLAGS.RSYNC)) flags |= constants.O_DSYNC;
        if (oflags & OFLAGS.DIRECTORY) flags |= constants.O_DIRECTORY;
        const hostFd = openSync(at.host, flags, 0o644);
        let st: BigIntStats;
        try {
          checkOpenedInside(dir.pre, hostFd);
          st = fstatSync(hostFd, { bigint: true });
        } catch (e) {
          safeClose(hostFd);
          throw e;
        }
        let fd: number;
        if (st.isDirectory()) {
          safeClose(hostFd);
          fd = this.allocFd({ kind: 'dir', pre: dir.pre, parts: at.parts });
        } else {
          this.openFiles++;
          fd = this.allocFd({
            kind: 'file', pre: dir.pre, parts: at.parts, hostFd, pos: 0n, read: read || !write, write,
            append: (fdflags & FDFLAGS.APPEND) !== 0, filetype: filetypeOf(st),
            syncFlags: fdflags & (FDFLAGS.SYNC | FDFLAGS.DSYNC | FDFLAGS.RSYNC),
            setTimes: writeOpen || (BigInt.asUintN(64, base) & RIGHTS.FD_FILESTAT_SET_TIMES) !== 0n,
          });
        }
        this.setU32(outPtr, fd);
        return ERRNO.SUCCESS;
      },
      path_filestat_get: (dirFd: number, flags: number, p: number, l: number, buf: number) => {
        const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
        const { at } = this.path(dirFd, p, l, follow);
        this.writeFilestat(buf, follow ? statSync(at.host, { bigint: true }) : lstatSync(at.host, { bigint: true }));
        return ERRNO.SUCCESS;
      },
      path_filestat_set_times: (dirFd: number, flags: number, p: number, l: number, atim: bigint, mtim: bigint, fst: number) => {
        const follow = (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;
        const { dir, at } = this.path(dirFd, p, l, follow);
        requireWritable(dir.pre);
        const st = () => (follow ? statSync(at.host, { bigint: true }) : lstatSync(at.host, { bigint: true }));
        this.times.apply(atim, mtim, fst, realtimeNs, st(), (a, m) => (follow ? utimesSync : lutimesSync)(at.host, a, m), st);
        return ERRNO.SUCCESS;
      },
      path_create_directory: (dirFd: number, p: number, l: number) => {
        requireWritable(this.dir(dirFd).pre);
        mkdirSync(this.path(dirFd, p, l, false).at.host, 0o755);
        return ERRNO.SUCCESS;
      },
      path_remove_directory: (dirFd: number, p: number, l: number) => {
        requireWritable(this.dir(dirFd).pre);
        const { at } = this.path(dirFd, p, l, false);
        if (at.parts.length === 0) throw new WasiError(ERRNO.BUSY); // never the preopen itself
        rmdirSync(at.host);
        return ERRNO.SUCCESS;
      },
      path_unlink_file: (dirFd: number, p: number, l: number) => {
        requireWritable(this.dir(dirFd).pre);
        const { at } = this.path(dirFd, p, l, false);
        if (lstatSync(at.host).isDirectory()) throw new WasiError(ERRNO.ISDIR);
        unlinkSync(at.host);
        return ERRNO.SUCCESS;
      },
      path_rename: (fromFd: number, fp: number, fl: number, toFd: number, tp: number, tl: number) => {
        requireWritable(this.dir(fromFd).pre);
        requireWritable(this.dir(toFd).pre);
        const from = this.path(fromFd, fp, fl, false).at;
        const to = this.path(toFd, tp, tl, false).at;
        if (from.parts.length === 0 || to.parts.length === 0) throw new WasiError(ERRNO.BUSY);
        renameSync(from.host, to.host);
        return ERRNO.SUCCESS;
      },
      path_link: (fromFd: number, flags: number, fp: number, fl: number, toFd: number, tp: number, tl: number) => {
        requireWritable(this.dir(fromFd).pre);
        requireWritable(this.dir(toFd).pre);
        if (flags & LOOKUP_SYMLINK_FOLLOW) throw new WasiError(ERRNO.INVAL); // as wasmtime
        const from = this.path(fromFd, fp, fl, false).at;
        const to = this.path(toFd, tp, tl, false).at;
        linkSync(from.host, to.host);
        return ERRNO.SUCCESS;
      },
      path_symlink: (tp: number, tl: number, dirFd: number, p: number, l: number) => {
        const target = this.str(tp, tl);
        const dir = this.dir(dirFd);
        requireWritable(dir.pre);
        const { at } = this.path(dirFd, p, l, false);
        checkSymlinkTarget(at.parts, target);
        symlinkSync(target, at.host);
        return ERRNO.SUCCESS;
      },
      path_readlink: (dirFd: number, p: number, l: number, buf: number, len: number, usedPtr: number) => {
        const { at } = this.path(dirFd, p, l, false);
        const target = readlinkSync(at.host, { encoding: 'buffer' });
        const out = this.bytes(buf, len);
        const n = Math.min(target.length, out.length);
        out.set(target.subarray(0, n));
        this.setU32(usedPtr, n);
        return ERRNO.SUCCESS;
      },

      poll_oneoff: (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number) => this.poll(inPtr, outPtr, nsubs, neventsPtr),

      // No sockets, ever: a WASI preview 1 guest only gets them from the host.
      sock_accept: (fd: number) => (this.entry(fd), ERRNO.NOTSOCK),
      sock_recv: (fd: number) => (this.entry(fd), ERRNO.NOTSOCK),
      sock_send: (fd: number) => (this.entry(fd), ERRNO.NOTSOCK),
      sock_shutdown: (fd: number) => (this.entry(fd), ERRNO.NOTSOCK),
    };
  }

  private seekable(fd: number): FileEntry {
    const e = this.entry(fd);
    if (e.kind === 'file') return e;
    throw new WasiError(e.kind === 'dir' ? ERRNO.BADF : ERRNO.SPIPE);
  }

  private sync(fd: number, fn: (hostFd: number) => void): number {
    const e = this.entry(fd);
    if (e.kind === 'file') fn(e.hostFd);
    else if (e.kind !== 'dir') throw new WasiError(ERRNO.BADF);
    return ERRNO.SUCCESS;
  }

  private writeTo(e: FdEntry, chunks: Uint8Array[], offset: bigint | undefined): number {
    let n = 0;
    if (e.kind === 'out') {
      for (const c of chunks) {
        e.sink.write(c);
        n += c.length;
      }
      return n;
    }
    if (e.kind !== 'file' || !e.write) throw new WasiError(ERRNO.BADF);
    let pos = offset ?? (e.append ? fstatSync(e.hostFd, { bigint: true }).size : e.pos);
    for (const c of chunks) {
      let done = 0;
      while (done < c.length) {
        const w = writeSync(e.hostFd, c, done, c.length - done, Number(pos));
        if (w <= 0) break;
        done += w;
        pos += BigInt(w);
      }
      n += done;
    }
    if (offset === undefined) e.pos = pos;
    return n;
  }

  private readFrom(e: FdEntry, chunks: Uint8Array[], offset: bigint | undefined): number {
    let n = 0;
    if (e.kind === 'stdin') {
      const src = this.opts.stdin;
      for (const c of chunks) {
        const take = Math.min(c.length, src.length - this.stdinPos);
        if (take <= 0) break;
        c.set(src.subarray(this.stdinPos, this.stdinPos + take));
        this.stdinPos += take;
        n += take;
      }
      return n;
    }
    if (e.kind === 'dir') throw new WasiError(ERRNO.ISDIR);
    if (e.kind !== 'file' || !e.read) throw new WasiError(ERRNO.BADF);
    let pos = offset ?? e.pos;
    for (const c of chunks) {
      if (c.length === 0) continue;
      const r = readSync(e.hostFd, c, 0, c.length, Number(pos));
      n += r;
      pos += BigInt(r);
      if (r < c.length) break;
    }
    if (offset === undefined) e.pos = pos;
    return n;
  }

  /** Clock subscriptions sleep (Atomics.wait, no spinning); fd subscriptions are always ready. */
  private poll(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
    const count = nsubs >>> 0;
    if (count === 0) return ERRNO.INVAL;
    const subs = this.bytes(inPtr, count * 48);
    const events = this.bytes(outPtr, count * 32);
    const sv = new DataView(subs.buffer, subs.byteOffset, subs.byteLength);
    const ev = new DataView(events.buffer, events.byteOffset, events.byteLength);
    interface Sub { userdata: bigint; tag: number; deadline?: bigint; error?: number; fd?: number }
    const list: Sub[] = [];
    const start = now(CLOCK.MONOTONIC);
    for (let i = 0; i < count; i++) {
      const b = i * 48;
      const userdata = sv.getBigUint64(b, true);
      const tag = sv.getUint8(b + 8);
      if (tag === 0) {
        const id = sv.getUint32(b + 16, true);
        const timeout = sv.getBigUint64(b + 24, true);
        const abs = (sv.getUint16(b + 40, true) & 1) !== 0;
        if (id !== CLOCK.REALTIME && id !== CLOCK.MONOTONIC) {
          list.push({ userdata, tag, error: ERRNO.INVAL });
          continue;
        }
        const relative = abs ? timeout - now(id) : timeout;
        list.push({ userdata, tag, deadline: start + (relative > 0n ? relative : 0n) });
      } else if (tag === 1 || tag === 2) {
        list.push({ userdata, tag, fd: sv.getUint32(b + 16, true) });
      } else {
        list.push({ userdata, tag, error: ERRNO.INVAL });
      }
    }
    const immediate = list.some((s) => s.deadline === undefined);
    if (!immediate) {
      const earliest = list.reduce((m, s) => (s.deadline as bigint) < m ? (s.deadline as bigint) : m, list[0]?.deadline as bigint);
      for (;;) {
        const left = earliest - now(CLOCK.MONOTONIC);
        if (left <= 0n) break;
        Atomics.wait(this.opts.wake, 0, 0, Number(left / 1000n) / 1000);
        if (Atomics.load(this.opts.wake, 0) !== 0) break; // being stopped
      }
    }
    const t = now(CLOCK.MONOTONIC);
    let n = 0;
    for (const s of list) {
      let error = s.error ?? ERRNO.SUCCESS;
      let nbytes = 0n;
      if (s.deadline !== undefined && s.deadline > t) continue;
      if (s.fd !== undefined) {
        const e = this.fds.get(s.fd);
        if (!e) error = ERRNO.BADF;
        else if (e.kind === 'stdin' && s.tag === 1) nbytes = BigInt(this.opts.stdin.length - this.stdinPos);
        else if (e.kind === 'file' && s.tag === 1) {
          const size = fstatSync(e.hostFd, { bigint: true }).size;
          nbytes = size > e.pos ? size - e.pos : 0n;
        }
      }
      const b = n * 32;
      ev.setBigUint64(b, s.userdata, true);
      ev.setUint16(b + 8, error, true);
      ev.setUint8(b + 10, s.tag);
      ev.setBigUint64(b + 16, nbytes, true);
      ev.setUint16(b + 24, 0, true);
      n++;
    }
    this.setU32(neventsPtr, n);
    return ERRNO.SUCCESS;
  }
}

function guard(fn: HostFn): HostFn {
  return (...args: never[]) => {
    try {
      return fn(...args);
    } catch (e) {
      if (e instanceof WasiError) return e.errno;
      if (e instanceof ExitSignal) throw e;
      // A stack overflow reached inside a host call is the guest's: let it trap.
      if (e instanceof RangeError && /call stack/i.test(e.message)) throw e;
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('ERR_')) return ERRNO.INVAL;
      return errnoFromNode(code);
    }
  };
}

function safeClose(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already gone */
  }
}

function filetypeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): number {
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  if (st.isDirectory()) return FILETYPE.DIRECTORY;
  if (st.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return FILETYPE.CHARACTER_DEVICE;
  if (st.isBlockDevice()) return FILETYPE.BLOCK_DEVICE;
  if (st.isSocket()) return FILETYPE.SOCKET_STREAM;
  return FILETYPE.UNKNOWN;
}

function listDir(d: DirEntry): Dirent[] {
  const host = hostPathOf(d.pre, d.parts);
  const self = statSync(host, { bigint: true });
  const parent = d.parts.length === 0 ? self : statSync(hostPathOf(d.pre, d.parts.slice(0, -1)), { bigint: true });
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

const START_NS = process.hrtime.bigint();
const START_REALTIME_NS = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

function now(id: number): bigint {
  if (id === CLOCK.MONOTONIC) return process.hrtime.bigint();
  if (id === CLOCK.REALTIME) return START_REALTIME_NS + (process.hrtime.bigint() - START_NS);
  throw new WasiError(clockErrno(id));
}

/** wasmtime answers the CPU-time clocks with EBADF (unsupported) and other ids with EINVAL. */
function clockErrno(id: number): number {
  return id === CLOCK.PROCESS_CPUTIME || id === CLOCK.THREAD_CPUTIME ? ERRNO.BADF : ERRNO.INVAL;
}

function realtimeNs(): bigint {
  return now(CLOCK.REALTIME);
}
