// WASI preview 1: ABI decoding and dispatch. Each call reads its arguments
// from guest memory (guest-memory.ts), asks the descriptor (fd/*.ts) or the
// directory it names, and writes the result structs (layouts in wasi-defs.ts).
// Runs inside the worker with synchronous fs calls. Calls never throw into
// the host: failures become errnos (see `guard`).
import type { BigIntStats } from 'node:fs';
import { getRandomValues } from 'node:crypto';
import { clockErrno, now, realtimeNs } from './clock.js';
import { filetypeOf, type Descriptor } from './fd/descriptor.js';
import { Directory, type FsContext } from './fd/dir.js';
import { OutputFd } from './fd/output.js';
import { PreopenDir } from './fd/preopen.js';
import { StdinFd } from './fd/stdin.js';
import { FdTable } from './fd/table.js';
import { WasiError, type Preopen } from './fs.js';
import { GuestMemory } from './guest-memory.js';
import type { CappedOutput } from './output-capture.js';
import { pollOneoff } from './poll.js';
import { ExactTimes } from './times.js';
import {
  CLOCK, DIRENT, ERRNO, errnoFromNode, FDSTAT, FILESTAT, LOOKUP_SYMLINK_FOLLOW, PRESTAT, WASI_SIGNATURES,
} from './wasi-defs.js';

export { MAX_OPEN_FILES } from './fd/table.js';

/** Thrown by proc_exit; unwinds the guest to the runner. */
export class ExitSignal {
  constructor(readonly code: number) {}
}

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

type HostFn = (...args: never[]) => number | void;
const OK = ERRNO.SUCCESS;

export class Wasi {
  private readonly mem = new GuestMemory();
  private readonly fds = new FdTable();
  private readonly ctx: FsContext = { times: new ExactTimes(), realtimeNs };

  constructor(private readonly opts: WasiOptions) {
    this.fds.add(new StdinFd(opts.stdin), 0);
    this.fds.add(new OutputFd(opts.stdout), 0);
    this.fds.add(new OutputFd(opts.stderr), 0);
    for (const pre of opts.preopens) this.fds.add(new PreopenDir(pre, this.ctx), 0);
  }

  set memory(m: WebAssembly.Memory | undefined) {
    this.mem.memory = m;
  }

  /** Closes every host descriptor the guest left open (workers are reused). */
  closeAll(): void {
    this.fds.closeAll();
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

  private fd(fd: number): Descriptor {
    return this.fds.get(fd);
  }
  /** The directory that path_* calls resolve against (ENOTDIR for any other descriptor). */
  private dir(fd: number): Directory {
    const d = this.fds.get(fd);
    if (!(d instanceof Directory)) throw new WasiError(ERRNO.NOTDIR);
    return d;
  }
  private path(ptr: number, len: number): string {
    return this.mem.str(ptr, len);
  }

  private writeFilestat(ptr: number, st: BigIntStats | undefined): void {
    const p = this.mem.check(ptr, FILESTAT.size);
    if (!st) {
      this.mem.bytes(p, FILESTAT.size).fill(0); // a stream: filetype unknown, all zero
      return;
    }
    const dv = this.mem.dv();
    const t = this.ctx.times.view(st);
    dv.setBigUint64(p + FILESTAT.dev, st.dev, true);
    dv.setBigUint64(p + FILESTAT.ino, st.ino, true);
    dv.setUint8(p + FILESTAT.filetype, filetypeOf(st));
    dv.setBigUint64(p + FILESTAT.nlink, st.nlink, true);
    dv.setBigUint64(p + FILESTAT.fileSize, st.size, true);
    dv.setBigUint64(p + FILESTAT.atim, t.atim, true);
    dv.setBigUint64(p + FILESTAT.mtim, t.mtim, true);
    dv.setBigUint64(p + FILESTAT.ctim, st.ctimeNs, true);
  }

  private calls(): Record<string, HostFn> {
    const m = this.mem;
    const encode = (list: string[]) => list.map((a) => Buffer.from(`${a}\0`));
    const args = encode(this.opts.args);
    const env = encode(this.opts.env);
    const sizes = (list: Buffer[], countPtr: number, sizePtr: number): number => {
      m.setU32(countPtr, list.length);
      m.setU32(sizePtr, list.reduce((n, b) => n + b.length, 0));
      return OK;
    };
    const fill = (list: Buffer[], ptrsPtr: number, bufPtr: number): number => {
      let at = bufPtr >>> 0;
      list.forEach((b, i) => {
        m.setU32((ptrsPtr >>> 0) + i * 4, at);
        m.bytes(at, b.length).set(b);
        at += b.length;
      });
      return OK;
    };
    const follows = (flags: number) => (flags & LOOKUP_SYMLINK_FOLLOW) !== 0;

    return {
      args_sizes_get: (c: number, s: number) => sizes(args, c, s),
      args_get: (p: number, b: number) => fill(args, p, b),
      environ_sizes_get: (c: number, s: number) => sizes(env, c, s),
      environ_get: (p: number, b: number) => fill(env, p, b),

      clock_res_get: (id: number, ptr: number) => {
        if (id !== CLOCK.REALTIME && id !== CLOCK.MONOTONIC) throw new WasiError(clockErrno(id));
        m.setU64(ptr, 1000n);
        return OK;
      },
      clock_time_get: (id: number, _precision: bigint, ptr: number) => (m.setU64(ptr, now(id)), OK),
      random_get: (ptr: number, len: number) => {
        const buf = m.bytes(ptr, len);
        // getRandomValues fills at most 64 KiB per call.
        for (let i = 0; i < buf.length; i += 65536) getRandomValues(buf.subarray(i, i + 65536));
        return OK;
      },
      sched_yield: () => OK,
      proc_raise: () => ERRNO.NOSYS,

      fd_write: (fd: number, iovs: number, n: number, out: number) => (m.setU32(out, this.fd(fd).write(m.firstIovec(iovs, n))), OK),
      fd_pwrite: (fd: number, iovs: number, n: number, offset: bigint, out: number) =>
        (m.setU32(out, this.fd(fd).pwrite(m.firstIovec(iovs, n), offset)), OK),
      fd_read: (fd: number, iovs: number, n: number, out: number) => (m.setU32(out, this.fd(fd).read(m.firstIovec(iovs, n))), OK),
      fd_pread: (fd: number, iovs: number, n: number, offset: bigint, out: number) =>
        (m.setU32(out, this.fd(fd).pread(m.firstIovec(iovs, n), offset)), OK),
      fd_seek: (fd: number, offset: bigint, whence: number, out: number) => (m.setU64(out, this.fd(fd).seek(offset, whence)), OK),
      fd_tell: (fd: number, out: number) => (m.setU64(out, this.fd(fd).tell()), OK),
      fd_close: (fd: number) => (this.fds.close(fd), OK),
      fd_sync: (fd: number) => (this.fd(fd).sync(), OK),
      fd_datasync: (fd: number) => (this.fd(fd).datasync(), OK),
      fd_advise: (fd: number) => (this.fd(fd).advise(), OK),
      fd_allocate: (fd: number) => (this.fd(fd).allocate(), OK),
      fd_fdstat_get: (fd: number, ptr: number) => {
        const s = this.fd(fd).fdstat();
        const p = m.check(ptr, FDSTAT.size);
        const dv = m.dv();
        dv.setUint8(p + FDSTAT.filetype, s.filetype);
        dv.setUint16(p + FDSTAT.flags, s.flags, true);
        dv.setBigUint64(p + FDSTAT.rightsBase, s.rights, true);
        dv.setBigUint64(p + FDSTAT.rightsInheriting, s.inheriting, true);
        return OK;
      },
      fd_fdstat_set_flags: (fd: number, flags: number) => (this.fd(fd).setFlags(flags), OK),
      fd_fdstat_set_rights: () => ERRNO.NOTSUP,
      fd_filestat_get: (fd: number, ptr: number) => (this.writeFilestat(ptr, this.fd(fd).filestat()), OK),
      fd_filestat_set_size: (fd: number, size: bigint) => (this.fd(fd).setSize(size), OK),
      fd_filestat_set_times: (fd: number, atim: bigint, mtim: bigint, fst: number) => (this.fd(fd).setTimes(atim, mtim, fst), OK),
      fd_prestat_get: (fd: number, ptr: number) => {
        const name = this.fd(fd).prestatName();
        const p = m.check(ptr, PRESTAT.size);
        m.dv().setUint32(p + PRESTAT.tag, 0, true);
        m.dv().setUint32(p + PRESTAT.nameLen, Buffer.byteLength(name), true);
        return OK;
      },
      fd_prestat_dir_name: (fd: number, ptr: number, len: number) => {
        const name = Buffer.from(this.fd(fd).prestatName());
        if ((len >>> 0) < name.length) throw new WasiError(ERRNO.NAMETOOLONG);
        m.bytes(ptr, name.length).set(name);
        return OK;
      },
      fd_readdir: (fd: number, buf: number, len: number, cookie: bigint, usedPtr: number) => {
        const listing = this.fd(fd).readdir(cookie);
        const out = m.bytes(buf, len);
        let used = 0;
        for (let i = Number(cookie); i < listing.length && used < out.length; i++) {
          const ent = listing[i] as (typeof listing)[number];
          const rec = Buffer.alloc(DIRENT.size + ent.name.length);
          rec.writeBigUInt64LE(BigInt(i + 1), DIRENT.next);
          rec.writeBigUInt64LE(ent.ino, DIRENT.ino);
          rec.writeUInt32LE(ent.name.length, DIRENT.namlen);
          rec.writeUInt8(ent.type, DIRENT.type);
          ent.name.copy(rec, DIRENT.size);
          // A record that does not fit is cut short: the caller retries with a bigger buffer.
          const take = Math.min(rec.length, out.length - used);
          out.set(rec.subarray(0, take), used);
          used += take;
        }
        m.setU32(usedPtr, used);
        return OK;
      },
      fd_renumber: (from: number, to: number) => (this.fds.renumber(from, to), OK),

      path_open: (dirFd: number, dirflags: number, p: number, l: number, oflags: number,
        rights: bigint, _inheriting: bigint, fdflags: number, outPtr: number) => {
        const dir = this.dir(dirFd);
        const path = this.path(p, l);
        this.fds.checkRoom();
        const opened = dir.open(path, { oflags, rights, fdflags, follow: follows(dirflags) });
        m.setU32(outPtr, this.fds.add(opened));
        return OK;
      },
      path_filestat_get: (dirFd: number, flags: number, p: number, l: number, buf: number) =>
        (this.writeFilestat(buf, this.dir(dirFd).filestatAt(this.path(p, l), follows(flags))), OK),
      path_filestat_set_times: (dirFd: number, flags: number, p: number, l: number, atim: bigint, mtim: bigint, fst: number) =>
        (this.dir(dirFd).setTimesAt(this.path(p, l), follows(flags), atim, mtim, fst), OK),
      path_create_directory: (dirFd: number, p: number, l: number) => (this.dir(dirFd).createDirectory(this.path(p, l)), OK),
      path_remove_directory: (dirFd: number, p: number, l: number) => (this.dir(dirFd).removeDirectory(this.path(p, l)), OK),
      path_unlink_file: (dirFd: number, p: number, l: number) => (this.dir(dirFd).unlinkFile(this.path(p, l)), OK),
      path_rename: (fromFd: number, fp: number, fl: number, toFd: number, tp: number, tl: number) =>
        (this.dir(fromFd).rename(this.path(fp, fl), this.dir(toFd), this.path(tp, tl)), OK),
      path_link: (fromFd: number, flags: number, fp: number, fl: number, toFd: number, tp: number, tl: number) =>
        (this.dir(fromFd).link(this.path(fp, fl), follows(flags), this.dir(toFd), this.path(tp, tl)), OK),
      path_symlink: (tp: number, tl: number, dirFd: number, p: number, l: number) => {
        const target = this.path(tp, tl);
        this.dir(dirFd).symlink(target, this.path(p, l));
        return OK;
      },
      path_readlink: (dirFd: number, p: number, l: number, buf: number, len: number, usedPtr: number) => {
        const target = this.dir(dirFd).readlink(this.path(p, l));
        const out = m.bytes(buf, len);
        const n = Math.min(target.length, out.length);
        out.set(target.subarray(0, n));
        m.setU32(usedPtr, n);
        return OK;
      },

      poll_oneoff: (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number) => {
        if ((nsubs >>> 0) === 0) return ERRNO.INVAL;
        m.setU32(neventsPtr, pollOneoff(m, this.fds, this.opts.wake, inPtr, outPtr, nsubs));
        return OK;
      },

      // No sockets, ever: a WASI preview 1 guest only gets them from the host.
      sock_accept: (fd: number) => (this.fd(fd), ERRNO.NOTSOCK),
      sock_recv: (fd: number) => (this.fd(fd), ERRNO.NOTSOCK),
      sock_send: (fd: number) => (this.fd(fd), ERRNO.NOTSOCK),
      sock_shutdown: (fd: number) => (this.fd(fd), ERRNO.NOTSOCK),
    };
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
