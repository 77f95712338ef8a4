// The JS backend's memory cap, planned from the module's bytes: enforced by
// patching the module's declared memory maximum (and the table cap), and read
// back when a guest ends near it.
import { parseModule, withMemories, withTables, type ModuleLayout } from '../binary/wasm-binary.js';

export const WASM_PAGE = 65536;
/** Same table cap as the native backend (src-rs/settings.rs MAX_TABLE_ELEMENTS). */
export const MAX_TABLE_ELEMENTS = 1_000_000;

export interface MemoryPlan {
  /** The module bytes to compile: the memory maximum lowered to the cap when needed. */
  bytes: Uint8Array;
  /** Set when the module cannot start under the cap (declared minimum too large). */
  refusal?: string;
}

const mib = (bytes: number): string => `${Math.round((bytes / 1048576) * 100) / 100} MiB`;

/**
 * Lowers every declared memory maximum to the cap so V8 refuses `memory.grow`
 * past it (returns -1), and refuses a module whose minimum is already over it.
 */
export function planMemory(bytes: Uint8Array, layout: ModuleLayout | undefined, limitBytes: number): MemoryPlan {
  if (!layout) return { bytes };
  const capPages = Math.floor(limitBytes / WASM_PAGE);
  for (const m of layout.memories) {
    if (m.min > capPages) {
      return {
        bytes,
        refusal:
          `memory limit exceeded: the module declares a minimum memory of ${mib(m.min * WASM_PAGE)} ` +
          `(${m.min} pages), over the sandbox's memory limit of ${mib(limitBytes)}: raise memoryLimitMb ` +
          'or build the module with a smaller initial memory',
      };
    }
  }
  for (const t of layout.tables) {
    if (t.min > MAX_TABLE_ELEMENTS) {
      return {
        bytes,
        refusal:
          `table limit exceeded: the module declares a table of ${t.min} elements, over the limit of ` +
          `${MAX_TABLE_ELEMENTS}`,
      };
    }
  }
  let out = bytes;
  // The memory section comes after the table section, so patch it first: the
  // table section's offsets stay valid.
  const needsPatch = layout.memories.some((m) => m.max === undefined || m.max > capPages);
  if (needsPatch && layout.memorySection) {
    const memories = layout.memories.map((m) => ({ ...m, max: Math.min(m.max ?? capPages, capPages) }));
    out = withMemories(out, layout.memorySection, memories);
  }
  // Tables get the same cap as on native, so table.grow cannot take the host's
  // memory up to V8's own 10,000,000-element limit (80 MB a table). V8 answers a
  // refused table.grow with -1 where wasmtime traps.
  const tablesNeedPatch = layout.tables.some((t) => t.max === undefined || t.max > MAX_TABLE_ELEMENTS);
  if (tablesNeedPatch && layout.tableSection) {
    const tables = layout.tables.map((t) => ({ ...t, max: Math.min(t.max ?? MAX_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS) }));
    out = withTables(out, layout.tableSection, layout.tableTypes, tables);
  }
  return { bytes: out };
}

export { parseModule };

/**
 * V8 answers a refused memory.grow with -1 where wasmtime (trap_on_grow_failure)
 * traps. We cannot see the refused grow itself without rewriting the guest's
 * code, so we infer it: a guest that ends abnormally (a trap, or a non-zero
 * exit) while its memory is within one typical grow of the cap most likely hit
 * the cap (malloc failed and it gave up), and we report it the way native does:
 * trap "memory", exit code 1. "One grow" is taken as max(2 MiB, cap / 8): an
 * allocator asks for its request plus a little (dlmalloc, Rust's allocator).
 */
export function nearMemoryCap(memoryBytes: number, limitBytes: number): boolean {
  const capBytes = Math.floor(limitBytes / WASM_PAGE) * WASM_PAGE;
  return capBytes - memoryBytes < Math.max(2 * 1048576, capBytes / 8);
}
