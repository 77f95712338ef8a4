// Reads a module file for the JS backend, refusing what is not a regular
// file before reading a byte: /dev/zero read without end until V8 aborted the
// process (out of memory), and opening a FIFO waited for a writer for ever,
// holding the execute and destroy() (issue 21 item 9). Native does the same
// in src-rs/module/load.rs, with the same code and words.
import { constants, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ModuleError } from '../../shared/errors.js';

const mib = (bytes: number): string => `${Math.round((bytes / 1048576) * 100) / 100} MiB`;

export const tooLarge = (where: string, size: bigint | number | string, maxBytes: number): ModuleError => new ModuleError('MODULE_TOO_LARGE',
  `module file ${where} is ${size} bytes, over the ${mib(maxBytes)} limit: strip it (wasm-strip), or raise maxModuleMb`);

export const notFound = (where: string, e: unknown): ModuleError => {
  const code = (e as NodeJS.ErrnoException).code;
  return new ModuleError('MODULE_NOT_FOUND', code === 'ENOENT' || code === 'ENOTDIR'
    ? `module file not found: ${where}: check the path in cmd[0]`
    : `module file ${where} cannot be read (${code ?? String(e)}): check its permissions`);
};

/** Refuses what a module path must not be; `st` from stat or fstat. */
export function checkKind(st: BigIntStats, where: string): void {
  if (st.isDirectory()) {
    throw new ModuleError('MODULE_NOT_FOUND', `module path ${where} is a directory, not a .wasm file: pass the path of a WebAssembly module`);
  }
  if (!st.isFile()) {
    throw new ModuleError('MODULE_INVALID', `module path ${where} is not a regular file (a device, FIFO or socket could block ` +
      'or never end): pass the path of a .wasm file');
  }
}

/**
 * The file's bytes and the identity of what was read. Opened without
 * blocking (a FIFO put there after a stat cannot hang the open), checked on
 * the open descriptor, and read no further than maxBytes + 1 whatever its
 * size says (a file may grow, /proc files say 0).
 */
export async function readModuleFile(abs: string, where: string, maxBytes: number): Promise<{ bytes: Uint8Array; st: BigIntStats }> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK does not exist on Windows, where opening a pipe does not wait for a writer.
    handle = await open(abs, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw notFound(where, e);
  }
  try {
    const st = await handle.stat({ bigint: true });
    checkKind(st, where);
    if (st.size > BigInt(maxBytes)) throw tooLarge(where, st.size, maxBytes);
    let buf = Buffer.allocUnsafe(Math.min(Number(st.size), maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) throw tooLarge(where, `more than ${maxBytes}`, maxBytes);
        const bigger = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, 65536), maxBytes + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw tooLarge(where, length, maxBytes);
    return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, length), st };
  } finally {
    await handle.close();
  }
}
