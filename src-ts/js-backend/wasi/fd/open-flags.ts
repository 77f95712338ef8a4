// path_open's arguments as host open(2) flags and what the new descriptor may
// do, decided once before the path is walked.
import { constants } from 'node:fs';
import { WasiError } from '../fs.js';
import { ERRNO, FDFLAGS, OFLAGS, RIGHTS } from '../wasi-defs.js';
import type { FileAccess } from './file.js';

export interface OpenRequest {
  oflags: number;
  /** fs_rights_base as the guest passed it. */
  rights: bigint;
  fdflags: number;
  follow: boolean;
}

export interface OpenPlan {
  /** Host flags: never following a symlink in the last component (the walk follows them itself). */
  flags: number;
  create: boolean;
  /** Opened for writing (or truncating): needs a read-write preopen. */
  write: boolean;
  access: FileAccess;
}

export function planOpen(req: OpenRequest): OpenPlan {
  const create = (req.oflags & OFLAGS.CREAT) !== 0;
  const trunc = (req.oflags & OFLAGS.TRUNC) !== 0;
  const rights = BigInt.asUintN(64, req.rights);
  // As wasmtime: FD_WRITE (or truncating) opens for writing, FD_READ for reading.
  const write = (rights & RIGHTS.FD_WRITE) !== 0n || trunc;
  const read = (rights & (RIGHTS.FD_READ | RIGHTS.FD_READDIR)) !== 0n;
  if ((req.oflags & OFLAGS.DIRECTORY) && (create || trunc || (req.oflags & OFLAGS.EXCL))) throw new WasiError(ERRNO.INVAL);
  let flags = (write ? (read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY) |
    constants.O_NOFOLLOW | constants.O_NONBLOCK;
  if (create) flags |= constants.O_CREAT;
  if (req.oflags & OFLAGS.EXCL) flags |= constants.O_EXCL;
  if (trunc) flags |= constants.O_TRUNC;
  if (req.fdflags & FDFLAGS.SYNC) flags |= constants.O_SYNC;
  if (req.fdflags & (FDFLAGS.DSYNC | FDFLAGS.RSYNC)) flags |= constants.O_DSYNC;
  if (req.oflags & OFLAGS.DIRECTORY) flags |= constants.O_DIRECTORY;
  return {
    flags, create, write,
    access: {
      read: read || !write, write, append: (req.fdflags & FDFLAGS.APPEND) !== 0,
      syncFlags: req.fdflags & (FDFLAGS.SYNC | FDFLAGS.DSYNC | FDFLAGS.RSYNC),
      setTimes: write || (rights & RIGHTS.FD_FILESTAT_SET_TIMES) !== 0n,
    },
  };
}
