// Names the WebAssembly proposal behind a V8 CompileError, when the error is
// a feature this V8 lacks rather than a broken module. V8 says
// "..., enable with --experimental-wasm-<flag>" for proposals it knows behind
// a flag; exnref (0x69/0x74) and try_table/throw_ref are newer than Node 20's
// V8 and read as other types or invalid opcodes.
const EXCEPTIONS = 'the WebAssembly exception-handling proposal (exnref: try_table, throw_ref)';

const FLAGS: Readonly<Record<string, string>> = {
  eh: EXCEPTIONS,
  exnref: EXCEPTIONS,
  gc: 'the WebAssembly garbage-collection (GC) proposal',
  typed_funcref: 'the WebAssembly typed function references proposal',
  'typed-funcref': 'the WebAssembly typed function references proposal',
  memory64: 'the WebAssembly memory64 proposal',
  'multi-memory': 'the WebAssembly multi-memory proposal',
  multi_memory: 'the WebAssembly multi-memory proposal',
  'return-call': 'the WebAssembly tail-call proposal',
  return_call: 'the WebAssembly tail-call proposal',
  'tail-call': 'the WebAssembly tail-call proposal',
  stringref: 'the WebAssembly stringref proposal',
  'relaxed-simd': 'the WebAssembly relaxed SIMD proposal',
  relaxed_simd: 'the WebAssembly relaxed SIMD proposal',
  'extended-const': 'the WebAssembly extended constant expressions proposal',
  extended_const: 'the WebAssembly extended constant expressions proposal',
  threads: 'the WebAssembly threads proposal',
};

/** The proposal a CompileError message points at, or undefined for an invalid module. */
export function unsupportedFeature(message: string): string | undefined {
  // V8 11 reads 0x69 (exnref in the final encoding) as the old GC draft's noexternref.
  if (/exnref|noexternref|try_table|throw_ref|invalid opcode 0x(1f|a)\b/i.test(message)) return EXCEPTIONS;
  const flag = /enable with --experimental-wasm-([\w-]+)/.exec(message)?.[1];
  if (flag === undefined) return undefined;
  return FLAGS[flag] ?? `the WebAssembly proposal V8 calls "${flag}"`;
}
