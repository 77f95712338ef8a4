// Main-thread checks for sessions and the host door, from a module's function
// exports and their types, before anything runs in a worker.
import { ModuleError } from '../shared/errors.js';
import type { SandboxResult } from '../shared/types.js';
import { sig } from './module/linking.js';
import type { FuncType } from './binary/wasm-binary.js';

type Functions = ReadonlyMap<string, FuncType | undefined>;

const fits = (t: FuncType | undefined, params: string, results: readonly string[]): boolean =>
  t === undefined || (t.params === params && results.includes(t.results));

/** The module exports `host_alloc(len: i32) -> i32`, where host.call answers are placed. */
export function hasHostAlloc(functions: Functions): boolean {
  return functions.has('host_alloc') && fits(functions.get('host_alloc'), 'i', ['i']);
}

/** `_initialize` of type () -> (), run when a session opens. */
export function hasInitialize(functions: Functions): boolean {
  return functions.has('_initialize') && fits(functions.get('_initialize'), '', ['']);
}

/**
 * A session call's export: `() -> ()` or `() -> i32` without input, `(i32, i32) -> ()` or
 * `(i32, i32) -> i32` with it, and then the allocator `(i32) -> i32`. Else NO_ENTRY.
 */
export function checkSessionExport(functions: Functions, name: string, withInput: boolean, alloc: string): void {
  const params = withInput ? 'ii' : '';
  const wanted = withInput ? '(i32, i32) -> i32 or (i32, i32) -> ()' : '() -> i32 or () -> ()';
  const type = functions.get(name);
  if (!functions.has(name) || !fits(type, params, ['', 'i'])) {
    const found = functions.has(name) && type ? ` (it has type ${sig(type)})` : '';
    const names = [...functions.keys()];
    throw new ModuleError('NO_ENTRY', `the session's module has no export "${name}" of type ${wanted}${found}` +
      `${!withInput && type?.params === 'ii' ? ' (an export taking (ptr, len) is called with input)' : ''}: function exports are: ` +
      `${names.length > 0 ? names.join(', ') : '(none)'}`);
  }
  if (withInput && (!functions.has(alloc) || !fits(functions.get(alloc), 'i', ['i']))) {
    throw new ModuleError('NO_ENTRY', `the session's module has no allocator export "${alloc}" of type (i32) -> i32 to place ` +
      'the input in: export one, or name it with the call\'s alloc option');
  }
}

/** Adds the door's faults to a result when there were any. */
export function withFaults<R extends SandboxResult>(result: R, faults: string[] | undefined): R {
  if (faults && faults.length > 0) result.hostCallFaults = faults;
  return result;
}
