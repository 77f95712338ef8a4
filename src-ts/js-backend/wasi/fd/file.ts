// A host file opened by path_open: reads and writes at its own position (or
// at the end in append mode), with what it was opened for deciding what it may do.
import { closeSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, futimesSync, readSync, writeSync, type BigIntStats } from 'node:fs';
import { WasiError } from '../fs.js';
import type { ExactTimes } from '../times.js';
import { ERRNO, FDFLAGS, FILE_RIGHTS, RIGHTS, WHENCE, WRITE_RIGHTS } from '../wasi-defs.js';
import { Descriptor, type Fdstat } from './descriptor.js';

export interface FileAccess {
  read: boolean;
  write: boolean;
  /** Opened for writing or with the FD_FILESTAT_SET_TIMES right. */
  setTimes: boolean;
  append: boolean;
  /** The SYNC/DSYNC/RSYNC fdflags it was opened with (reported back by fd_fdstat_get). */
  syncFlags: number;
}

export class FileFd extends Descriptor {
  private pos = 0n;
  private closed = false;

  constructor(
    readonly hostFd: number,
    private readonly filetype: number,
    private readonly access: FileAccess,
    private readonly times: ExactTimes,
    private readonly realtimeNs: () => bigint,
  ) {
    super();
  }

  fdstat(): Fdstat {
    const a = this.access;
    let rights = FILE_RIGHTS;
    if (!a.write) rights &= ~WRITE_RIGHTS;
    if (!a.setTimes) rights &= ~RIGHTS.FD_FILESTAT_SET_TIMES;
    if (!a.read) rights &= ~RIGHTS.FD_READ;
    return { filetype: this.filetype, flags: (a.append ? FDFLAGS.APPEND : 0) | a.syncFlags, rights, inheriting: 0n };
  }

  override filestat(): BigIntStats {
    return fstatSync(this.hostFd, { bigint: true });
  }
  override get holdsHostFd(): boolean {
    return true;
  }

  override read(chunks: Uint8Array[]): number {
    const n = this.readAt(chunks, this.pos);
    this.pos += BigInt(n);
    return n;
  }
  override pread(chunks: Uint8Array[], offset: bigint): number {
    return this.readAt(chunks, offset);
  }
  override write(chunks: Uint8Array[]): number {
    const at = this.access.append ? this.filestat().size : this.pos;
    const n = this.writeAt(chunks, at);
    this.pos = at + BigInt(n);
    return n;
  }
  override pwrite(chunks: Uint8Array[], offset: bigint): number {
    return this.writeAt(chunks, offset);
  }

  override seek(offset: bigint, whence: number): bigint {
    let base: bigint;
    if (whence === WHENCE.SET) base = 0n;
    else if (whence === WHENCE.CUR) base = this.pos;
    else if (whence === WHENCE.END) base = this.filestat().size;
    else throw new WasiError(ERRNO.INVAL);
    const next = base + offset;
    if (next < 0n) throw new WasiError(ERRNO.INVAL);
    this.pos = next;
    return next;
  }
  override tell(): bigint {
    return this.pos;
  }

  override sync(): void {
    fsyncSync(this.hostFd);
  }
  override datasync(): void {
    fdatasyncSync(this.hostFd);
  }
  override advise(): void {}
  /** As wasmtime 48: no longer supported (not portable). */
  override allocate(): void {
    throw new WasiError(ERRNO.NOTSUP);
  }
  override setFlags(flags: number): void {
    if (flags & ~(FDFLAGS.APPEND | FDFLAGS.NONBLOCK)) throw new WasiError(ERRNO.NOTSUP);
    this.access.append = (flags & FDFLAGS.APPEND) !== 0;
  }
  override setSize(size: bigint): void {
    if (!this.access.write) throw new WasiError(ERRNO.BADF);
    ftruncateSync(this.hostFd, Number(size));
  }
  override setTimes(atim: bigint, mtim: bigint, fst: number): void {
    if (!this.access.setTimes) throw new WasiError(ERRNO.BADF);
    const fd = this.hostFd;
    this.times.apply(atim, mtim, fst, this.realtimeNs, this.filestat(), (a, m) => futimesSync(fd, a, m), () => this.filestat());
  }

  override readable(): bigint {
    const size = this.filestat().size;
    return size > this.pos ? size - this.pos : 0n;
  }

  override close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.hostFd);
    } catch {
      /* already gone */
    }
  }

  private readAt(chunks: Uint8Array[], at: bigint): number {
    if (!this.access.read) throw new WasiError(ERRNO.BADF);
    let n = 0;
    let pos = at;
    for (const c of chunks) {
      if (c.length === 0) continue;
      const r = readSync(this.hostFd, c, 0, c.length, Number(pos));
      n += r;
      pos += BigInt(r);
      if (r < c.length) break;
    }
    return n;
  }

  private writeAt(chunks: Uint8Array[], at: bigint): number {
    if (!this.access.write) throw new WasiError(ERRNO.BADF);
    let n = 0;
    let pos = at;
    for (const c of chunks) {
      let done = 0;
      while (done < c.length) {
        const w = writeSync(this.hostFd, c, done, c.length - done, Number(pos));
        if (w <= 0) break;
        done += w;
        pos += BigInt(w);
      }
      n += done;
    }
    return n;
  }
}
