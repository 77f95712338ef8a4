// Fuel metering for the JS backend, by rewriting the module before V8
// compiles it (beside the memory-maximum patch in memory-plan.ts). It counts what
// wasmtime 48 counts (wasmtime-cranelift's fuel_before_op and
// pre_translate_bulk_op, wasmtime-environ's default operator costs):
//
// - every operator costs 1, except nop, drop, block, loop, unreachable,
//   return, else and end, which are free; entering a wasm function costs 1
//   (measured: wasmtime 48 charges an empty function 1 unit);
// - memory.copy/fill/init cost 1 more per byte, table.copy/fill/init/grow 1
//   more per element (memory.grow nothing more), from the length operand;
// - the count is added to a counter where wasmtime adds it: before a call,
//   return, unreachable, branch, if, else, end and loop (so an operator that
//   traps mid-block is not counted, as there);
// - the counter is checked where wasmtime checks it: at function entry, at
//   every loop header, and before a bulk operator (unless its length is a
//   constant costing at most 128).
//
// The counter is an exported mutable i64 global, `-budget` at the start;
// the guest runs out when a check finds it at or above 0. The check then sets
// it to OUT_OF_FUEL and executes `unreachable`, which is how the runner tells
// running out of fuel from the guest's own traps.
import { ModuleError } from '../../shared/errors.js';
import { EXCEPTION_OPS, OpReader, type Op } from '../binary/wasm-ops.js';
import type { ModuleLayout } from '../binary/wasm-binary.js';
import { assemble, leb, sections, Sink, sleb, withEntries, type Section } from '../binary/wasm-sections.js';

export const FUEL_EXPORT = '__mimobox_fuel';
/**
 * The counter as wasmtime last stored it: before calls, returns and
 * `unreachable`, and at function exit (in between it lives in a register).
 * After a trap wasmtime's store only knows this value, so that is what a
 * trapped execute reports.
 */
export const SAVED_FUEL_EXPORT = '__mimobox_fuel_saved';
/**
 * The stored counter when a memory.grow first returned -1: wasmtime traps
 * there, V8 lets the guest go on, so a run that ends at the memory cap
 * reports this (NO_REFUSED_GROW while none was refused).
 */
export const GROW_FUEL_EXPORT = '__mimobox_fuel_at_refused_grow';
export const NO_REFUSED_GROW = 0x7fff_ffff_ffff_fffen;
/**
 * A module's start function, exported under this name instead of run at
 * instantiation: the runner sets the budget first, then calls it (adding the
 * 2 units wasmtime charges around it), so it is counted as on native.
 */
export const START_EXPORT = '__mimobox_start';
/** The counter's value once a check found the budget spent. */
export const OUT_OF_FUEL = 0x7fff_ffff_ffff_ffffn;
/** Before the runner sets the budget (a start function runs first): effectively unlimited. */
const UNSET = -(1n << 62n);
const SMALL_BULK_OP_COST = 128n;

/** Free operators (wasmtime-environ's default_operator_cost). */
const FREE = new Set([0x00, 0x01, 0x02, 0x03, 0x05, 0x0b, 0x0f, 0x1a]);
/** Operators before which wasmtime also stores the counter (SAVED_FUEL_EXPORT). */
const SAVE = new Set([0x00, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15]);
/** Operators before which wasmtime adds the pending count to the counter. */
const FLUSH = new Set([0x00, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x03, 0x04, 0x0c, 0x0d, 0x0e, 0xd5, 0xd6, 0x0b, 0x05]);
/** 0xfc sub-opcodes charged per unit of their length operand: memory.init/copy/fill, table.init/copy/grow/fill. */
const PER_UNIT = new Set([8, 10, 11, 12, 14, 15, 17]);
const TABLE_OPS = new Set([12, 14, 15, 17]);

interface Ctx {
  global: number[];
  saved: number[];
  grow: number[];
  scratch32: number[];
  scratch64: number[];
  mem64: (i: number) => boolean;
  table64: (i: number) => boolean;
}

/** Returns the module with fuel metering; throws ModuleError when it cannot be metered. */
export function instrumentFuel(bytes: Uint8Array, layout: ModuleLayout | undefined, where: string): Uint8Array {
  try {
    if (!layout?.types) throw new Error('its type section uses encodings the rewriter does not read');
    return rewrite(bytes, layout);
  } catch (e) {
    throw new ModuleError('MODULE_UNSUPPORTED', `module file ${where} cannot be metered with fuel on the JS backend ` +
      `(${e instanceof Error ? e.message : String(e)}): use fuel: null, or backend: 'native'`);
  }
}

function rewrite(bytes: Uint8Array, layout: ModuleLayout): Uint8Array {
  const list = sections(bytes);
  const importedGlobals = layout.imports.filter((i) => i.kind === 3).length;
  const importedFuncs = layout.imports.filter((i) => i.kind === 0).length;
  const importedMems = layout.imports.filter((i) => i.kind === 2).length;
  const importedTables = layout.imports.filter((i) => i.kind === 1).length;
  const globalSec = list.find((s) => s.id === 6);
  const definedGlobals = globalSec ? new OpReader(bytes, globalSec.contentStart, globalSec.end).u32() : 0;
  const fuelGlobal = importedGlobals + definedGlobals;

  const newGlobal = [0x7e, 0x01, 0x42, ...sleb(UNSET), 0x0b];
  const savedGlobal = fuelGlobal + 1;
  const growGlobal = fuelGlobal + 2;
  const growInit = [0x7e, 0x01, 0x42, ...sleb(NO_REFUSED_GROW), 0x0b];
  const replaced = new Map<number, Uint8Array>();
  replaced.set(6, withEntries(bytes, globalSec, [newGlobal, newGlobal, growInit]));
  const exp = (n: string, index: number) => [...leb(Buffer.byteLength(n)), ...Buffer.from(n), 0x03, ...leb(index)];
  const exports = [exp(FUEL_EXPORT, fuelGlobal), exp(SAVED_FUEL_EXPORT, savedGlobal), exp(GROW_FUEL_EXPORT, growGlobal)];
  const start = list.find((s) => s.id === 8);
  if (start) {
    exports.push([...leb(Buffer.byteLength(START_EXPORT)), ...Buffer.from(START_EXPORT), 0x00, ...leb(new OpReader(bytes, start.contentStart, start.end).u32())]);
    replaced.set(8, new Uint8Array(0)); // dropped below
  }
  replaced.set(7, withEntries(bytes, list.find((s) => s.id === 7), exports));
  const code = list.find((s) => s.id === 10);
  if (code) {
    const ctx: Omit<Ctx, 'scratch32' | 'scratch64'> = {
      global: leb(fuelGlobal),
      saved: leb(savedGlobal),
      grow: leb(growGlobal),
      mem64: (i) => i >= importedMems && ((layout.memories[i - importedMems]?.flags ?? 0) & 0x04) !== 0,
      table64: (i) => i >= importedTables && ((layout.tables[i - importedTables]?.flags ?? 0) & 0x04) !== 0,
    };
    replaced.set(10, rewriteCode(bytes, code, layout, importedFuncs, ctx));
  }

  return assemble(bytes, list, replaced);
}

function rewriteCode(bytes: Uint8Array, s: Section, layout: ModuleLayout, importedFuncs: number, base: Omit<Ctx, 'scratch32' | 'scratch64'>): Uint8Array {
  const r = new OpReader(bytes, s.contentStart, s.end);
  const n = r.u32();
  const out = new Sink();
  out.add(leb(n));
  for (let i = 0; i < n; i++) {
    const size = r.u32();
    const end = r.pos + size;
    const type = layout.types?.[layout.functions[i] as number];
    if (!type) throw new Error(`function ${importedFuncs + i} has no known type`);
    const body = rewriteBody(bytes, r.pos, end, type.params.length, base);
    out.add(leb(body.length));
    out.add(body);
    r.pos = end;
  }
  return out.bytes;
}

function rewriteBody(bytes: Uint8Array, start: number, end: number, params: number, base: Omit<Ctx, 'scratch32' | 'scratch64'>): Uint8Array {
  const r = new OpReader(bytes, start, end);
  const groups = r.u32();
  const groupsStart = r.pos;
  let locals = params;
  for (let g = 0; g < groups; g++) {
    locals += r.u32();
    const t = r.byte();
    if (t === 0x63 || t === 0x64) r.sleb();
  }
  // Two scratch locals (i32, i64) hold a bulk operator's length while it is charged.
  const ctx: Ctx = { ...base, scratch32: leb(locals), scratch64: leb(locals + 1) };
  const out = new Sink();
  out.add(leb(groups + 2));
  out.add(bytes.subarray(groupsStart, r.pos));
  out.push(1, 0x7f, 1, 0x7e);
  let pending = 0n;
  const flush = () => {
    if (pending > 0n) out.push(0x23, ...ctx.global, 0x42, ...sleb(pending), 0x7c, 0x24, ...ctx.global);
    pending = 0n;
  };
  const check = () => {
    flush();
    out.push(0x23, ...ctx.global, 0x42, 0x00, 0x59, 0x04, 0x40, 0x42, ...sleb(OUT_OF_FUEL), 0x24, ...ctx.global, 0x00, 0x0b);
  };
  check(); // function entry
  // Measured against wasmtime 48: every call of a wasm function costs one unit
  // more than its operators (a function with an empty body costs 1).
  pending = 1n;
  const save = () => out.push(0x23, ...ctx.global, 0x24, ...ctx.saved);
  let prev: Op | undefined;
  let depth = 1;
  while (!r.done) {
    const op = r.next();
    // Their blocks and costs are not modelled here (the reader knows them for bulk-ops.ts).
    if (EXCEPTION_OPS.has(op.code)) throw new Error(`opcode 0x${op.code.toString(16)} (exception handling) is not supported by the fuel instrumentation`);
    if (op.code === 0x02 || op.code === 0x03 || op.code === 0x04) depth++;
    else if (op.code === 0x0b) depth--;
    if (!FREE.has(op.code)) pending += 1n;
    const perUnit = op.code === 0xfc && PER_UNIT.has(op.sub) ? 1n : op.code === 0x40 ? 0n : undefined;
    if (perUnit !== undefined) {
      const wide = op.code === 0xfc && TABLE_OPS.has(op.sub) ? ctx.table64(op.index ?? 0) : ctx.mem64(op.index ?? 0);
      const constant = prev && (prev.code === 0x41 || prev.code === 0x42) ? prev.value : undefined;
      if (constant !== undefined) {
        // A negative i32 is a huge unsigned length: wasmtime saturates the cost.
        const units = constant < 0n ? OUT_OF_FUEL : constant;
        const cost = units * perUnit > OUT_OF_FUEL ? OUT_OF_FUEL : units * perUnit;
        pending += cost;
        if (cost > SMALL_BULK_OP_COST) check();
      } else {
        if (perUnit > 0n) {
          flush();
          const g = ctx.global;
          if (wide) out.push(0x22, ...ctx.scratch64, 0x23, ...g, 0x20, ...ctx.scratch64, 0x7c, 0x24, ...g);
          else out.push(0x22, ...ctx.scratch32, 0x23, ...g, 0x20, ...ctx.scratch32, 0xad, 0x7c, 0x24, ...g);
        }
        check();
      }
    } else if (FLUSH.has(op.code)) flush();
    // The function's last `end` is its exit.
    if (SAVE.has(op.code) || depth === 0) save();
    out.add(bytes.subarray(op.start, op.end));
    if (op.code === 0x03) check(); // loop header: every iteration
    if (op.code === 0x40) {
      // The first refused grow keeps the stored counter (GROW_FUEL_EXPORT).
      const wide = ctx.mem64(op.index ?? 0);
      const sc = wide ? ctx.scratch64 : ctx.scratch32;
      out.push(0x22, ...sc, 0x20, ...sc, ...(wide ? [0x42, 0x7f, 0x51] : [0x41, 0x7f, 0x46]), 0x04, 0x40,
        0x23, ...ctx.grow, 0x42, ...sleb(NO_REFUSED_GROW), 0x51, 0x04, 0x40, 0x23, ...ctx.saved, 0x24, ...ctx.grow, 0x0b, 0x0b);
    }
    prev = op;
  }
  return out.bytes;
}
