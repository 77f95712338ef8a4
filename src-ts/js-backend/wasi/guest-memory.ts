// Access to the guest's linear memory for the WASI calls: bounds-checked
// reads and writes (an address past the end is EFAULT, never a host error),
// little-endian as the ABI says. The DataView is renewed after memory.grow.
import { WasiError } from './fs.js';
import { ERRNO, IOVEC } from './wasi-defs.js';

const DECODER = new TextDecoder('utf-8', { fatal: true });

export class GuestMemory {
  memory: WebAssembly.Memory | undefined;
  private view: DataView | undefined;

  dv(): DataView {
    const mem = this.memory;
    if (!mem) throw new WasiError(ERRNO.FAULT);
    if (!this.view || this.view.buffer !== mem.buffer) this.view = new DataView(mem.buffer);
    return this.view;
  }

  /** `size` bytes at `ptr`, checked; returns the address as an unsigned number. */
  check(ptr: number, size: number): number {
    const p = ptr >>> 0;
    if (p + size > this.dv().byteLength) throw new WasiError(ERRNO.FAULT);
    return p;
  }

  bytes(ptr: number, len: number): Uint8Array {
    const n = len >>> 0;
    const p = this.check(ptr, n);
    return new Uint8Array(this.dv().buffer, p, n);
  }

  u32(ptr: number): number {
    return this.dv().getUint32(this.check(ptr, 4), true);
  }
  setU32(ptr: number, v: number): void {
    this.dv().setUint32(this.check(ptr, 4), v >>> 0, true);
  }
  setU64(ptr: number, v: bigint): void {
    this.dv().setBigUint64(this.check(ptr, 8), BigInt.asUintN(64, v), true);
  }

  /** A UTF-8 string (paths): invalid UTF-8 is EILSEQ. */
  str(ptr: number, len: number): string {
    const b = this.bytes(ptr, len);
    try {
      return DECODER.decode(b);
    } catch {
      throw new WasiError(ERRNO.ILSEQ);
    }
  }

  /**
   * The first non-empty buffer of an iovec/ciovec array (or none): as
   * wasmtime's preview 1, a read or write moves one buffer's worth at most and
   * the guest's libc loops for the rest. Moving them all at once would be
   * correct too, but the guest would then run a different path (and use
   * different fuel) than on the native backend.
   */
  firstIovec(ptr: number, count: number): Uint8Array[] {
    for (const b of this.iovecs(ptr, count)) if (b.length > 0) return [b];
    return [];
  }

  /** The buffers of an iovec/ciovec array. */
  iovecs(ptr: number, count: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count >>> 0; i++) {
      const at = (ptr >>> 0) + i * IOVEC.size;
      out.push(this.bytes(this.u32(at + IOVEC.buf), this.u32(at + IOVEC.len)));
    }
    return out;
  }
}
