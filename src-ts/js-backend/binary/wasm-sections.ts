// Section-level editing of a WebAssembly binary, shared by the rewriters
// (instrument.ts for fuel, bulk-ops.ts for bounded bulk operators): list the
// sections, give vector sections more entries, and put the module back
// together with replaced sections in their required order.
import { OpReader } from './wasm-ops.js';
import { encodeLeb } from './wasm-binary.js';

export const leb = encodeLeb;

/** Signed LEB128 of a bigint (i64.const immediates). */
export function sleb(v: bigint): number[] {
  const out: number[] = [];
  let n = v;
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A growing byte buffer: modules can be large, so no arrays of numbers and no spreads. */
export class Sink {
  buf = new Uint8Array(1024);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  push(...b: number[]): void {
    this.add(b);
  }
  add(b: ArrayLike<number>): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

export interface Section { id: number; start: number; contentStart: number; end: number }

export function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  const r = new OpReader(bytes, 8, bytes.length);
  while (!r.done) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    out.push({ id, start, contentStart: r.pos, end: r.pos + size });
    r.pos += size;
  }
  return out;
}

/** A vector section's body with more entries at its end. */
export function withEntries(bytes: Uint8Array, s: Section | undefined, entries: ArrayLike<number>[]): Uint8Array {
  const out = new Sink();
  const r = s ? new OpReader(bytes, s.contentStart, s.end) : undefined;
  out.add(leb((r ? r.u32() : 0) + entries.length));
  if (r && s) out.add(bytes.subarray(r.pos, s.end));
  for (const e of entries) out.add(e);
  return out.bytes;
}

/** Where each section id goes (custom sections, 0, stay where they are). */
const ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

/**
 * The module with `replaced` section bodies: a replaced section stays where
 * it was, a new one goes where the order requires it, and an empty body
 * under id 8 (start) drops that section.
 */
export function assemble(bytes: Uint8Array, list: Section[], replaced: Map<number, Uint8Array>): Uint8Array {
  const out = new Sink();
  out.add(bytes.subarray(0, 8));
  const emit = (id: number) => {
    const body = replaced.get(id) as Uint8Array;
    out.push(id);
    out.add(leb(body.length));
    out.add(body);
  };
  const dropped = (id: number) => id === 8 && replaced.get(8)?.length === 0;
  const pending = new Set([...replaced.keys()].filter((id) => !dropped(id)));
  const emitUpTo = (rank: number) => {
    for (const id of [...pending].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))) {
      if (ORDER.indexOf(id) < rank) {
        emit(id);
        pending.delete(id);
      }
    }
  };
  for (const s of list) {
    if (s.id !== 0) emitUpTo(ORDER.indexOf(s.id));
    if (dropped(s.id)) continue;
    if (pending.has(s.id)) {
      emit(s.id);
      pending.delete(s.id);
    } else if (!replaced.has(s.id)) {
      out.add(bytes.subarray(s.start, s.end));
    }
  }
  emitUpTo(ORDER.length);
  return out.bytes;
}
