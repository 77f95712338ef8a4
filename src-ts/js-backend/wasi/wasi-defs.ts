// WASI preview 1 constants and the import signatures the host provides.
// Values are from the witx definitions (wasi_snapshot_preview1).

export const ERRNO = {
  SUCCESS: 0, '2BIG': 1, ACCES: 2, ADDRINUSE: 3, ADDRNOTAVAIL: 4, AFNOSUPPORT: 5, AGAIN: 6,
  ALREADY: 7, BADF: 8, BADMSG: 9, BUSY: 10, CANCELED: 11, CHILD: 12, CONNABORTED: 13,
  CONNREFUSED: 14, CONNRESET: 15, DEADLK: 16, DESTADDRREQ: 17, DOM: 18, DQUOT: 19, EXIST: 20,
  FAULT: 21, FBIG: 22, HOSTUNREACH: 23, IDRM: 24, ILSEQ: 25, INPROGRESS: 26, INTR: 27,
  INVAL: 28, IO: 29, ISCONN: 30, ISDIR: 31, LOOP: 32, MFILE: 33, MLINK: 34, MSGSIZE: 35,
  MULTIHOP: 36, NAMETOOLONG: 37, NETDOWN: 38, NETRESET: 39, NETUNREACH: 40, NFILE: 41,
  NOBUFS: 42, NODEV: 43, NOENT: 44, NOEXEC: 45, NOLCK: 46, NOLINK: 47, NOMEM: 48, NOMSG: 49,
  NOPROTOOPT: 50, NOSPC: 51, NOSYS: 52, NOTCONN: 53, NOTDIR: 54, NOTEMPTY: 55,
  NOTRECOVERABLE: 56, NOTSOCK: 57, NOTSUP: 58, NOTTY: 59, NXIO: 60, OVERFLOW: 61,
  OWNERDEAD: 62, PERM: 63, PIPE: 64, PROTO: 65, PROTONOSUPPORT: 66, PROTOTYPE: 67, RANGE: 68,
  ROFS: 69, SPIPE: 70, SRCH: 71, STALE: 72, TIMEDOUT: 73, TXTBSY: 74, XDEV: 75, NOTCAPABLE: 76,
} as const;

/** Maps a Node error code ('ENOENT', ...) to a WASI errno; unknown codes become EIO. */
export function errnoFromNode(code: unknown): number {
  if (typeof code === 'string' && code.startsWith('E')) {
    const name = code.slice(1);
    if (name === 'WOULDBLOCK') return ERRNO.AGAIN;
    if (name === 'OPNOTSUPP') return ERRNO.NOTSUP;
    const v = (ERRNO as Record<string, number>)[name];
    if (v !== undefined) return v;
  }
  return ERRNO.IO;
}

export const FILETYPE = {
  UNKNOWN: 0, BLOCK_DEVICE: 1, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4,
  SOCKET_DGRAM: 5, SOCKET_STREAM: 6, SYMBOLIC_LINK: 7,
} as const;

export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
export const LOOKUP_SYMLINK_FOLLOW = 1;
export const WHENCE = { SET: 0, CUR: 1, END: 2 } as const;
export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 } as const;
export const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;

const bit = (n: number): bigint => 1n << BigInt(n);
export const RIGHTS = {
  FD_DATASYNC: bit(0), FD_READ: bit(1), FD_SEEK: bit(2), FD_FDSTAT_SET_FLAGS: bit(3),
  FD_SYNC: bit(4), FD_TELL: bit(5), FD_WRITE: bit(6), FD_ADVISE: bit(7), FD_ALLOCATE: bit(8),
  PATH_CREATE_DIRECTORY: bit(9), PATH_CREATE_FILE: bit(10), PATH_LINK_SOURCE: bit(11),
  PATH_LINK_TARGET: bit(12), PATH_OPEN: bit(13), FD_READDIR: bit(14), PATH_READLINK: bit(15),
  PATH_RENAME_SOURCE: bit(16), PATH_RENAME_TARGET: bit(17), PATH_FILESTAT_GET: bit(18),
  PATH_FILESTAT_SET_SIZE: bit(19), PATH_FILESTAT_SET_TIMES: bit(20), FD_FILESTAT_GET: bit(21),
  FD_FILESTAT_SET_SIZE: bit(22), FD_FILESTAT_SET_TIMES: bit(23), PATH_SYMLINK: bit(24),
  PATH_REMOVE_DIRECTORY: bit(25), PATH_UNLINK_FILE: bit(26), POLL_FD_READWRITE: bit(27),
  SOCK_SHUTDOWN: bit(28), SOCK_ACCEPT: bit(29),
} as const;

const R = RIGHTS;
/** Rights that let an fd change a file's contents (as wasmtime decides "opened for write"). */
export const WRITE_RIGHTS = R.FD_DATASYNC | R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE;
export const FILE_RIGHTS =
  R.FD_DATASYNC | R.FD_READ | R.FD_SEEK | R.FD_FDSTAT_SET_FLAGS | R.FD_SYNC | R.FD_TELL |
  R.FD_WRITE | R.FD_ADVISE | R.FD_ALLOCATE | R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_SIZE |
  R.FD_FILESTAT_SET_TIMES | R.POLL_FD_READWRITE;
/** What wasmtime reports for a directory (its pre-#6265 set, which guests still expect). */
export const DIR_RIGHTS =
  R.PATH_CREATE_DIRECTORY | R.PATH_CREATE_FILE | R.PATH_LINK_SOURCE | R.PATH_LINK_TARGET |
  R.PATH_OPEN | R.FD_READDIR | R.PATH_READLINK | R.PATH_RENAME_SOURCE | R.PATH_RENAME_TARGET |
  R.PATH_SYMLINK | R.PATH_REMOVE_DIRECTORY | R.PATH_UNLINK_FILE | R.PATH_FILESTAT_GET |
  R.PATH_FILESTAT_SET_TIMES | R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_TIMES;
/** Directory rights that change something: dropped on read-only preopens. */
export const DIR_MUTATE_RIGHTS =
  R.PATH_CREATE_DIRECTORY | R.PATH_CREATE_FILE | R.PATH_LINK_TARGET | R.PATH_RENAME_SOURCE |
  R.PATH_RENAME_TARGET | R.PATH_FILESTAT_SET_SIZE | R.PATH_FILESTAT_SET_TIMES |
  R.FD_FILESTAT_SET_TIMES | R.PATH_SYMLINK | R.PATH_REMOVE_DIRECTORY | R.PATH_UNLINK_FILE;

// ---- struct layouts (byte offsets and sizes, from the witx) ------------------

export const IOVEC = { size: 8, buf: 0, len: 4 } as const;
export const FDSTAT = { size: 24, filetype: 0, flags: 2, rightsBase: 8, rightsInheriting: 16 } as const;
export const FILESTAT = { size: 64, dev: 0, ino: 8, filetype: 16, nlink: 24, fileSize: 32, atim: 40, mtim: 48, ctim: 56 } as const;
export const PRESTAT = { size: 8, tag: 0, nameLen: 4 } as const;
export const DIRENT = { size: 24, next: 0, ino: 8, namlen: 16, type: 20 } as const;
/** subscription: userdata, tag, then the union (clock or fd_readwrite) at 16. */
export const SUBSCRIPTION = {
  size: 48, userdata: 0, tag: 8, clockId: 16, timeout: 24, precision: 32, clockFlags: 40, fd: 16,
} as const;
export const EVENT = { size: 32, userdata: 0, error: 8, type: 10, nbytes: 16, flags: 24 } as const;
export const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
export const SUBCLOCKFLAGS = { ABSTIME: 1 } as const;

/**
 * Every wasi_snapshot_preview1 function: params ('i' = i32, 'I' = i64) and results.
 * Used to refuse an import the host does not provide, or with the wrong type,
 * before running (wasmtime refuses both at link time).
 */
export const WASI_SIGNATURES: Readonly<Record<string, { params: string; results: string }>> = {
  args_get: { params: 'ii', results: 'i' },
  args_sizes_get: { params: 'ii', results: 'i' },
  environ_get: { params: 'ii', results: 'i' },
  environ_sizes_get: { params: 'ii', results: 'i' },
  clock_res_get: { params: 'ii', results: 'i' },
  clock_time_get: { params: 'iIi', results: 'i' },
  fd_advise: { params: 'iIIi', results: 'i' },
  fd_allocate: { params: 'iII', results: 'i' },
  fd_close: { params: 'i', results: 'i' },
  fd_datasync: { params: 'i', results: 'i' },
  fd_fdstat_get: { params: 'ii', results: 'i' },
  fd_fdstat_set_flags: { params: 'ii', results: 'i' },
  fd_fdstat_set_rights: { params: 'iII', results: 'i' },
  fd_filestat_get: { params: 'ii', results: 'i' },
  fd_filestat_set_size: { params: 'iI', results: 'i' },
  fd_filestat_set_times: { params: 'iIIi', results: 'i' },
  fd_pread: { params: 'iiiIi', results: 'i' },
  fd_prestat_get: { params: 'ii', results: 'i' },
  fd_prestat_dir_name: { params: 'iii', results: 'i' },
  fd_pwrite: { params: 'iiiIi', results: 'i' },
  fd_read: { params: 'iiii', results: 'i' },
  fd_readdir: { params: 'iiiIi', results: 'i' },
  fd_renumber: { params: 'ii', results: 'i' },
  fd_seek: { params: 'iIii', results: 'i' },
  fd_sync: { params: 'i', results: 'i' },
  fd_tell: { params: 'ii', results: 'i' },
  fd_write: { params: 'iiii', results: 'i' },
  path_create_directory: { params: 'iii', results: 'i' },
  path_filestat_get: { params: 'iiiii', results: 'i' },
  path_filestat_set_times: { params: 'iiiiIIi', results: 'i' },
  path_link: { params: 'iiiiiii', results: 'i' },
  path_open: { params: 'iiiiiIIii', results: 'i' },
  path_readlink: { params: 'iiiiii', results: 'i' },
  path_remove_directory: { params: 'iii', results: 'i' },
  path_rename: { params: 'iiiiii', results: 'i' },
  path_symlink: { params: 'iiiii', results: 'i' },
  path_unlink_file: { params: 'iii', results: 'i' },
  poll_oneoff: { params: 'iiii', results: 'i' },
  proc_exit: { params: 'i', results: '' },
  proc_raise: { params: 'i', results: 'i' },
  sched_yield: { params: '', results: 'i' },
  random_get: { params: 'ii', results: 'i' },
  sock_accept: { params: 'iii', results: 'i' },
  sock_recv: { params: 'iiiiii', results: 'i' },
  sock_send: { params: 'iiiii', results: 'i' },
  sock_shutdown: { params: 'ii', results: 'i' },
};

export const WASI_MODULE = 'wasi_snapshot_preview1';

/** The one non-WASI import both backends provide: answers -1 ("no host here"). */
export const HOST_CALL = { module: 'host', name: 'call', params: 'iiii', results: 'i' } as const;
