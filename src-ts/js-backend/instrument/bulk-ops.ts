// Bounded bulk operators for every module the JS backend runs.
//
// V8 stops a guest (worker.terminate(), process exit) only where its compiled
// code checks for an interrupt: function entries and loop back-edges. A bulk
// operator (memory.fill/copy/init, table.fill/copy/init) is one instruction
// that runs to its end, and a loop around a big one in baseline (Liftoff)
// code was measured to ignore termination for 40+ s on Node 20-24 (a 64 MiB
// memory.fill takes ~4 ms, a 1M-element table.fill ~40 ms; a loop making
// calls stops within milliseconds). So each such operator becomes a call to
// a helper added to the module (bulk-helpers.ts) that does the same work in
// pieces of at most 1 MiB / 4096 table elements, calling an empty
// function between pieces: an interrupt check V8 cannot leave out.
//
// Runs after the fuel rewrite (instrument.ts), so the helpers are not metered
// and a metered guest is charged exactly as before. table.grow is left as it
// is: tables are capped at MAX_TABLE_ELEMENTS (memory-plan.ts), so one grow is one
// bounded step (~100 ms at the cap) that can happen only once per table.
import type { ModuleLayout } from '../binary/wasm-binary.js';
import { DEFAULT_CHUNKS, helperBody, helperType, TICK_BODY, type BulkHelper, type Chunks } from './bulk-helpers.js';
import { OpReader } from '../binary/wasm-ops.js';
import { assemble, leb, sections, Sink, withEntries, type Section } from '../binary/wasm-sections.js';

/** 0xfc sub-opcodes rewritten: memory.init, memory.copy, memory.fill, table.init, table.copy, table.fill. */
const BULK = new Set([8, 10, 11, 12, 14, 17]);

/** Why a module could not be rewritten (the caller refuses it once V8 has judged it valid). */
export class BulkRewriteError extends Error {}

/**
 * Returns the module with every bulk operator bounded, or the same bytes when
 * it has none. Throws BulkRewriteError when it cannot read the module.
 */
export function boundBulkOps(bytes: Uint8Array, layout: ModuleLayout | undefined, chunks: Chunks = DEFAULT_CHUNKS): Uint8Array {
  try {
    return rewrite(bytes, layout, chunks);
  } catch (e) {
    // A malformed module (V8 then says what is wrong with it) or one it cannot read.
    if (e instanceof BulkRewriteError) throw e;
    throw new BulkRewriteError(e instanceof Error ? e.message : String(e));
  }
}

function rewrite(bytes: Uint8Array, layout: ModuleLayout | undefined, chunks: Chunks): Uint8Array {
  if (!layout) throw new BulkRewriteError('its sections use encodings the rewriter does not read');
  const list = sections(bytes);
  const code = list.find((s) => s.id === 10);
  if (!code) return bytes;
  const importedFuncs = layout.imports.filter((i) => i.kind === 0).length;
  const firstHelper = importedFuncs + layout.functions.length;
  const helpers = new Map<string, { index: number; helper: BulkHelper }>();
  const helperFor = (sub: number, index: number, other: number): number => {
    const key = `${sub}:${index}:${other}`;
    let h = helpers.get(key);
    if (!h) {
      // Index firstHelper is the tick function; helpers follow it.
      h = { index: firstHelper + 1 + helpers.size, helper: describe(layout, sub, index, other) };
      helpers.set(key, h);
    }
    return h.index;
  };
  const rewritten = rewriteCode(bytes, code, helperFor);
  if (!rewritten || helpers.size === 0) return bytes;
  if (!layout.types) throw new BulkRewriteError('its type section uses encodings the rewriter does not read');

  const typeBase = layout.types.length;
  const all = [...helpers.values()];
  const types = [[0x60, 0, 0], ...all.map((h) => helperType(h.helper))];
  const funcs = types.map((_, i) => leb(typeBase + i));
  const bodies = [TICK_BODY, ...all.map((h) => helperBody(h.helper, firstHelper, chunks))];
  const codeOut = Buffer.concat([
    Uint8Array.from(leb(rewritten.count + bodies.length)), ...rewritten.parts,
    ...bodies.flatMap((b) => [Uint8Array.from(leb(b.length)), b]),
  ]);
  const replaced = new Map<number, Uint8Array>([
    [1, withEntries(bytes, list.find((s) => s.id === 1), types)],
    [3, withEntries(bytes, list.find((s) => s.id === 3), funcs)],
    [10, codeOut],
  ]);
  return assemble(bytes, list, replaced);
}

/** What the helper for one operator works on: address widths, element type, which operator. */
function describe(layout: ModuleLayout, sub: number, index: number, other: number): BulkHelper {
  const memories = [...layout.imports.filter((i) => i.kind === 2).map((i) => i.limits), ...layout.memories];
  const tables = [
    ...layout.imports.filter((i) => i.kind === 1).map((i) => (i.limits ? { ...i.limits, elemType: i.elemType } : undefined)),
    ...layout.tables.map((t, i) => ({ ...t, elemType: layout.tableSection ? layout.tableTypes[i] : undefined })),
  ];
  const isTable = sub === 12 || sub === 14 || sub === 17;
  const wide = (i: number): boolean => {
    const l = isTable ? tables[i] : memories[i];
    if (!l) throw new BulkRewriteError(`a bulk operator names ${isTable ? 'table' : 'memory'} ${i}, which the rewriter did not read`);
    return (l.flags & 0x04) !== 0;
  };
  const kind = sub === 11 || sub === 17 ? 'fill' : sub === 10 || sub === 14 ? 'copy' : 'init';
  const helper: BulkHelper = { kind, table: isTable, index, dst64: wide(index), src64: kind === 'copy' ? wide(other) : false, other };
  if (kind === 'fill' && isTable) {
    const elemType = tables[index]?.elemType;
    if (elemType !== 0x70 && elemType !== 0x6f) throw new BulkRewriteError(`table ${index} has an element type the rewriter does not read`);
    helper.elemType = elemType;
  }
  return helper;
}

/**
 * GC-proposal array operators with a length (array.new, new_default,
 * new_data, new_elem, fill, copy, init_data, init_elem): a body that may hold
 * one is read in full, and the reader refuses 0xfb operators, so such a
 * module is refused rather than run unbounded.
 */
const GC_BULK = new Set([6, 7, 9, 10, 16, 17, 18, 19]);

/**
 * Finds the next offset in [from, end) where a bulk operator could start:
 * its prefix byte followed by a byte whose low 7 bits are a bulk sub-opcode
 * (a LEB128 may be padded). Found with indexOf (memchr), so bodies without
 * one are never decoded: most of a large module is not.
 */
function candidates(bytes: Uint8Array, end: number): (from: number) => number {
  // The next 0xfc and 0xfb at or after where the last search began: each is
  // searched for again only once passed, so the scan stays linear.
  let fc = -1;
  let fb = -1;
  const find = (byte: number, from: number, known: number) => {
    if (known >= from || known === end) return known;
    const at = bytes.indexOf(byte, from);
    return at < 0 || at >= end ? end : at;
  };
  return (from: number) => {
    for (let i = from; i < end;) {
      fc = find(0xfc, i, fc);
      fb = find(0xfb, i, fb);
      const at = Math.min(fc, fb);
      if (at + 1 >= end) return end;
      if ((at === fc ? BULK : GC_BULK).has((bytes[at + 1] as number) & 0x7f)) return at;
      i = at + 1;
    }
    return end;
  };
}

/** The code section's bodies (after its count) with bulk operators replaced by helper calls; undefined when none has one. */
function rewriteCode(bytes: Uint8Array, s: Section, helperFor: (sub: number, index: number, other: number) => number): { parts: Uint8Array[]; count: number } | undefined {
  const r = new OpReader(bytes, s.contentStart, s.end);
  const n = r.u32();
  const parts: Uint8Array[] = [];
  let copiedTo = r.pos;
  const nextCandidate = candidates(bytes, s.end);
  let cand = nextCandidate(r.pos);
  for (let i = 0; i < n; i++) {
    const sizeStart = r.pos;
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    r.pos = end;
    if (cand < start) cand = nextCandidate(start);
    if (cand >= end) continue;
    const body = rewriteBody(bytes, start, end, i, helperFor);
    if (!body) continue;
    parts.push(bytes.subarray(copiedTo, sizeStart), Uint8Array.from(leb(body.length)), body);
    copiedTo = end;
  }
  if (parts.length === 0) return undefined;
  parts.push(bytes.subarray(copiedTo, s.end));
  return { parts, count: n };
}

/** One function body with its bulk operators replaced, or undefined when it has none. */
function rewriteBody(bytes: Uint8Array, start: number, end: number, i: number, helperFor: (sub: number, index: number, other: number) => number): Uint8Array | undefined {
  const f = new OpReader(bytes, start, end, false);
  const body = new Sink();
  let copied = start;
  try {
    const groups = f.u32();
    for (let g = 0; g < groups; g++) {
      f.u32();
      const t = f.byte();
      if (t === 0x63 || t === 0x64) f.skipLeb();
    }
    for (let op = f.nextMisc(BULK); op; op = f.nextMisc(BULK)) {
      body.add(bytes.subarray(copied, op.start));
      body.push(0x10, ...leb(helperFor(op.sub, op.index ?? 0, op.other ?? 0)));
      copied = op.end;
    }
  } catch (e) {
    if (e instanceof BulkRewriteError) throw e;
    throw new BulkRewriteError(`function ${i}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (copied === start) return undefined;
  body.add(bytes.subarray(copied, end));
  return body.bytes;
}
