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
// is: tables are capped at MAX_TABLE_ELEMENTS (limits.ts), so one grow is one
// bounded step (~100 ms at the cap) that can happen only once per table.
import type { ModuleLayout } from './wasm-binary.js';
import { DEFAULT_CHUNKS, helperBody, helperType, TICK_BODY, type BulkHelper, type Chunks } from './bulk-helpers.js';
import { OpReader } from './wasm-ops.js';
import { assemble, leb, sections, Sink, withEntries, type Section } from './wasm-sections.js';

/** 0xfc sub-opcodes rewritten: memory.init, memory.copy, memory.fill, table.init, table.copy, table.fill. */
const BULK = new Set([8, 10, 11, 12, 14, 17]);

/** Why a module could not be rewritten (the caller refuses it once V8 has judged it valid). */
export class BulkRewriteError extends Error {}

/**
 * Returns the module with every bulk operator bounded, or the same bytes when
 * it has none. Throws BulkRewriteError when it cannot read the module.
 */
export function boundBulkOps(bytes: Uint8Array, layout: ModuleLayout | undefined, chunks: Chunks = DEFAULT_CHUNKS): Uint8Array {
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
  const body = rewriteCode(bytes, code, helperFor);
  if (helpers.size === 0) return bytes;
  if (!layout.types) throw new BulkRewriteError('its type section uses encodings the rewriter does not read');

  const typeBase = layout.types.length;
  const all = [...helpers.values()];
  const types = [[0x60, 0, 0], ...all.map((h) => helperType(h.helper))];
  const funcs = types.map((_, i) => leb(typeBase + i));
  const bodies = [TICK_BODY, ...all.map((h) => helperBody(h.helper, firstHelper, chunks))];
  const codeOut = new Sink();
  codeOut.add(leb(layout.functions.length + bodies.length));
  codeOut.add(body);
  for (const b of bodies) {
    codeOut.add(leb(b.length));
    codeOut.add(b);
  }
  const replaced = new Map<number, Uint8Array>([
    [1, withEntries(bytes, list.find((s) => s.id === 1), types)],
    [3, withEntries(bytes, list.find((s) => s.id === 3), funcs)],
    [10, codeOut.bytes],
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

/** The code section's function bodies (without the count), bulk operators replaced by helper calls. */
function rewriteCode(bytes: Uint8Array, s: Section, helperFor: (sub: number, index: number, other: number) => number): Uint8Array {
  const r = new OpReader(bytes, s.contentStart, s.end);
  const n = r.u32();
  const out = new Sink();
  const body = new Sink();
  for (let i = 0; i < n; i++) {
    const sizeStart = r.pos;
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    let copied = start;
    body.len = 0;
    const f = new OpReader(bytes, start, end);
    const groups = f.u32();
    for (let g = 0; g < groups; g++) {
      f.u32();
      const t = f.byte();
      if (t === 0x63 || t === 0x64) f.sleb();
    }
    try {
      while (!f.done) {
        const op = f.next();
        if (op.code !== 0xfc || !BULK.has(op.sub)) continue;
        body.add(bytes.subarray(copied, op.start));
        body.push(0x10, ...leb(helperFor(op.sub, op.index ?? 0, op.other ?? 0)));
        copied = op.end;
      }
    } catch (e) {
      if (e instanceof BulkRewriteError) throw e;
      throw new BulkRewriteError(`function ${i}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (copied === start) {
      out.add(bytes.subarray(sizeStart, end));
    } else {
      body.add(bytes.subarray(copied, end));
      out.add(leb(body.len));
      out.add(body.bytes);
    }
    r.pos = end;
  }
  return out.bytes;
}
