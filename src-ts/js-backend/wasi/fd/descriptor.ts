// One open WASI descriptor. Every operation has a default answer here (the
// errno wasmtime gives for a descriptor of the wrong kind), so each kind
// implements only what it supports: stdin.ts, output.ts, file.ts, dir.ts
// (with the preopened root in preopen.ts).
import type { BigIntStats } from 'node:fs';
import { WasiError } from '../fs.js';
import { ERRNO, FILETYPE } from '../wasi-defs.js';

export interface Fdstat {
  filetype: number;
  flags: number;
  rights: bigint;
  inheriting: bigint;
}

export interface Dirent {
  name: Buffer;
  ino: bigint;
  type: number;
}

const fail = (errno: number): never => {
  throw new WasiError(errno);
};

export abstract class Descriptor {
  abstract fdstat(): Fdstat;

  /** undefined: a stream with no file behind it (filestat is all zero). */
  filestat(): BigIntStats | undefined {
    return undefined;
  }
  read(_chunks: Uint8Array[]): number {
    return fail(ERRNO.BADF);
  }
  write(_chunks: Uint8Array[]): number {
    return fail(ERRNO.BADF);
  }
  pread(_chunks: Uint8Array[], _offset: bigint): number {
    return fail(ERRNO.SPIPE);
  }
  pwrite(_chunks: Uint8Array[], _offset: bigint): number {
    return fail(ERRNO.SPIPE);
  }
  seek(_offset: bigint, _whence: number): bigint {
    return fail(ERRNO.SPIPE);
  }
  tell(): bigint {
    return fail(ERRNO.SPIPE);
  }
  sync(): void {
    fail(ERRNO.BADF);
  }
  datasync(): void {
    fail(ERRNO.BADF);
  }
  advise(): void {
    fail(ERRNO.SPIPE);
  }
  allocate(): void {
    fail(ERRNO.SPIPE);
  }
  /** Streams accept and ignore fdflags. */
  setFlags(_flags: number): void {}
  setSize(_size: bigint): void {
    fail(ERRNO.SPIPE);
  }
  setTimes(_atim: bigint, _mtim: bigint, _fst: number): void {
    fail(ERRNO.BADF);
  }
  /** The guest path of a preopened directory. */
  prestatName(): string {
    return fail(ERRNO.BADF);
  }
  /** Directory entries from `cookie` on. */
  readdir(_cookie: bigint): Dirent[] {
    return fail(ERRNO.NOTDIR);
  }
  /** Bytes ready to read now, for poll_oneoff's fd_read events. */
  readable(): bigint {
    return 0n;
  }
  /** Holds a host descriptor of its own (counted against MAX_OPEN_FILES). */
  get holdsHostFd(): boolean {
    return false;
  }
  /** Frees what the descriptor holds on the host (closing twice is harmless). */
  close(): void {}
}

/** Rights of the standard streams. */
export function streamFdstat(rights: bigint): Fdstat {
  return { filetype: FILETYPE.UNKNOWN, flags: 0, rights, inheriting: 0n };
}

/** The WASI filetype of a host stat. */
export function filetypeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): number {
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  if (st.isDirectory()) return FILETYPE.DIRECTORY;
  if (st.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return FILETYPE.CHARACTER_DEVICE;
  if (st.isBlockDevice()) return FILETYPE.BLOCK_DEVICE;
  if (st.isSocket()) return FILETYPE.SOCKET_STREAM;
  return FILETYPE.UNKNOWN;
}
