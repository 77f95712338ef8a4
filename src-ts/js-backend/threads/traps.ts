// Classifies what V8 throws out of a guest into the backend-neutral TrapKind
// names, by V8's RuntimeError messages (stable across Node 20-22).
import type { LimitKind, TrapKind } from '../../shared/types.js';

const PATTERNS: ReadonlyArray<[RegExp, TrapKind]> = [
  [/^unreachable/i, 'unreachable'],
  [/memory access out of bounds|out of bounds memory access|data segment/i, 'memory'],
  [/divide by zero|remainder by zero|division by zero/i, 'integer_divide_by_zero'],
  [/divide result unrepresentable|integer overflow/i, 'integer_overflow'],
  [/float unrepresentable in integer range|invalid conversion to integer/i, 'bad_conversion_to_integer'],
  // V8 reports a null table entry and a signature mismatch with one message;
  // a null entry is far more common (a NULL function pointer in C), so it wins.
  [/null function or function signature mismatch|null function/i, 'indirect_call_to_null'],
  [/function signature mismatch|signature mismatch/i, 'bad_signature'],
  [/table index is out of bounds|table access out of bounds|element segment/i, 'table_out_of_bounds'],
  [/dereferencing a null pointer|null reference/i, 'null_reference'],
  [/unaligned/i, 'unaligned_atomic'],
];

export interface TrapInfo {
  trap: TrapKind;
  error: string;
  /** Set when a limit, not a guest bug, caused the trap. */
  limit?: LimitKind;
}

export function classifyTrap(e: unknown): TrapInfo {
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return { trap: 'stack_overflow', error: `wasm trap: call stack exhausted (${e.message})`, limit: 'stack' };
  }
  if (e instanceof RangeError && /out of memory|cannot allocate/i.test(e.message)) {
    return { trap: 'memory', error: `memory limit exceeded: ${e.message}`, limit: 'memory' };
  }
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof WebAssembly.RuntimeError) {
    for (const [re, trap] of PATTERNS) if (re.test(message)) return { trap, error: `wasm trap: ${message}` };
    return { trap: 'other', error: `wasm trap: ${message}` };
  }
  return { trap: 'other', error: `the guest failed: ${message}` };
}
