// The helper functions bulk-ops.ts adds to a module: one per bulk operator
// (and memory/table/segment it names), taking that operator's operands and
// doing its work in bounded pieces, with the operator's exact semantics:
//
// - up to one piece of work: the operator itself, unchanged;
// - otherwise the whole range is checked first, and when it is out of
//   bounds the operator runs with the original operands, so it traps the
//   same way and writes nothing (the spec checks bounds before any write);
//   memory.init/table.init check their segment with a zero-length init at
//   the range's end, which traps exactly when the segment is too short;
// - then pieces, each followed by a call to an empty function (where V8
//   checks for termination); a copy whose destination is above its source
//   goes from the end down, so overlapping ranges copy as one memmove.
//
// All arithmetic is in i64, so 32-bit operands cannot wrap around.
import { leb, sleb } from '../binary/wasm-sections.js';

/** At most this much memory is filled or copied between two interrupt checks. */
export const BULK_CHUNK_BYTES = 1 << 20;
/** Table elements cost far more than bytes (~40 ns each on V8 11): 4096 is ~0.2 ms. */
export const TABLE_CHUNK_ELEMENTS = 4096;

/** Piece sizes: the defaults above; tests pass small ones to exercise every path on small buffers. */
export interface Chunks {
  bytes: number;
  elements: number;
}
export const DEFAULT_CHUNKS: Chunks = { bytes: BULK_CHUNK_BYTES, elements: TABLE_CHUNK_ELEMENTS };

export interface BulkHelper {
  kind: 'fill' | 'copy' | 'init';
  table: boolean;
  /** The memory or table written (a copy's destination). */
  index: number;
  /** A copy's source memory or table; an init's segment. */
  other: number;
  dst64: boolean;
  /** A copy's source has 64-bit addresses. */
  src64: boolean;
  /** table.fill: the value's type (0x70 funcref, 0x6f externref). */
  elemType?: number;
}

/** The function the pieces call: `(func)`, its entry is the interrupt check. */
export const TICK_BODY = Uint8Array.of(0, 0x0b);

const I32 = 0x7f;
const I64 = 0x7e;
// Locals after the three parameters, all i64.
const D = 3;
const S = 4;
const N = 5;
const C = 6;
const Z = 7;
const OFF = 8;

function params(h: BulkHelper): [number, number, number] {
  const dst = h.dst64 ? I64 : I32;
  if (h.kind === 'fill') return [dst, h.table ? (h.elemType as number) : I32, dst];
  if (h.kind === 'init') return [dst, I32, I32];
  return [dst, h.src64 ? I64 : I32, h.dst64 && h.src64 ? I64 : I32];
}

export function helperType(h: BulkHelper): number[] {
  return [0x60, 3, ...params(h), 0];
}

/** The operator itself, with its immediates. */
function op(h: BulkHelper): number[] {
  const sub = { fill: h.table ? 17 : 11, copy: h.table ? 14 : 10, init: h.table ? 12 : 8 }[h.kind];
  if (h.kind === 'fill') return [0xfc, sub, ...leb(h.index)];
  if (h.kind === 'copy') return [0xfc, sub, ...leb(h.index), ...leb(h.other)];
  return [0xfc, sub, ...leb(h.other), ...leb(h.index)];
}

const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const i64 = (v: number) => [0x42, ...sleb(BigInt(v))];
/** To i64 from an operand of this type, and back. */
const ext = (t: number) => (t === I32 ? [0xad] : []);
const wrap = (t: number) => (t === I32 ? [0xa7] : []);
const ADD = 0x7c;
const SUB = 0x7d;
const GT_U = 0x56;
const OR = 0x72;

/** The size of a memory (in bytes) or table (in elements), as i64. */
function size(h: BulkHelper, which: number, wide: boolean): number[] {
  const raw = h.table ? [0xfc, 16, ...leb(which)] : [0x3f, ...leb(which)];
  return [...raw, ...(wide ? [] : [0xad]), ...(h.table ? [] : [...i64(16), 0x86])];
}

export function helperBody(h: BulkHelper, tick: number, chunks: Chunks): Uint8Array {
  const [dstT, srcT, lenT] = params(h);
  const chunk = h.table ? chunks.elements : chunks.bytes;
  const theOp = op(h);
  const whole = [...get(0), ...get(1), ...get(2), ...theOp, 0x0f];
  /** If `at` + N is past `limit` elements of (Z = size), run the whole operator: it traps. */
  const outOfBounds = (at: number) => [...get(at), ...get(Z), GT_U, ...get(N), ...get(Z), ...get(at), SUB, GT_U, OR, 0x04, 0x40, ...whole, 0x0b];
  const piece = (left: number) => [...get(left), ...i64(chunk), ...get(left), ...i64(chunk), 0x54, 0x1b, ...set(C)];
  const next = [0x10, ...leb(tick), 0x0c, 0];
  const b: number[] = [1, 6, I64];
  // One piece or less: the operator as it was.
  b.push(...get(2), ...ext(lenT), ...i64(chunk), 0x58, 0x04, 0x40, ...whole, 0x0b);
  b.push(...get(0), ...ext(dstT), ...set(D), ...get(2), ...ext(lenT), ...set(N));
  if (h.kind !== 'fill') b.push(...get(1), ...ext(srcT), ...set(S));
  b.push(...size(h, h.index, h.dst64), ...set(Z), ...outOfBounds(D));
  if (h.kind === 'copy') b.push(...size(h, h.other, h.src64), ...set(Z), ...outOfBounds(S));
  if (h.kind === 'init') {
    // The segment's end: past 2^32 - 1 it cannot exist; otherwise a zero-length init there traps exactly when it is too short.
    b.push(...get(S), ...get(N), ADD, ...i64(0xffffffff), GT_U, 0x04, 0x40, ...whole, 0x0b);
    b.push(...get(0), ...get(S), ...get(N), ADD, 0xa7, 0x41, 0, ...theOp);
  }
  if (h.kind === 'copy') {
    // Destination above the source: from the end down, so an overlap reads each byte before it is overwritten.
    b.push(...get(D), ...get(S), GT_U, 0x04, 0x40, ...get(N), ...set(OFF), 0x02, 0x40, 0x03, 0x40,
      ...get(OFF), 0x50, 0x0d, 1, ...piece(OFF), ...get(OFF), ...get(C), SUB, ...set(OFF),
      ...get(D), ...get(OFF), ADD, ...wrap(dstT), ...get(S), ...get(OFF), ADD, ...wrap(srcT), ...get(C), ...wrap(lenT), ...theOp,
      ...next, 0x0b, 0x0b, 0x0f, 0x0b);
  }
  const value = h.kind === 'fill' ? get(1) : [...get(S), ...wrap(srcT)];
  b.push(0x02, 0x40, 0x03, 0x40, ...get(N), 0x50, 0x0d, 1, ...piece(N),
    ...get(D), ...wrap(dstT), ...value, ...get(C), ...wrap(lenT), ...theOp,
    ...get(D), ...get(C), ADD, ...set(D), ...get(N), ...get(C), SUB, ...set(N));
  if (h.kind !== 'fill') b.push(...get(S), ...get(C), ADD, ...set(S));
  b.push(...next, 0x0b, 0x0b, 0x0b);
  return Uint8Array.from(b);
}
