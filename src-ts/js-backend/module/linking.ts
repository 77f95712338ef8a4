// What an execute links and calls, decided on the main thread from the
// module's import and export lists before anything is instantiated: which
// imports the sandbox provides (WASI preview 1, host.call), which become traps
// (unknownImports: 'trap'), and which export is the entry.
import type { UnknownImports } from '../../shared/config.js';
import { ModuleError } from '../../shared/errors.js';
import { HOST_CALL, WASI_MODULE, WASI_SIGNATURES } from '../wasi/wasi-defs.js';
import type { FuncType } from '../binary/wasm-binary.js';

export interface ModuleImport {
  module: string;
  name: string;
  /** 'function' | 'table' | 'memory' | 'global' | 'tag' */
  kind: string;
  /** For functions, when the type section was read. */
  type?: FuncType | undefined;
}

export interface LinkPlan {
  /** Function imports linked as traps that name themselves when called. */
  traps: { module: string; name: string }[];
  /** host.call is imported with its provided type. */
  hostCall: boolean;
}

export interface EntryPlan {
  entry: string;
  /** Call `_initialize` first (a reactor). */
  initialize: boolean;
}

const KIND_NAMES = ['function', 'table', 'memory', 'global', 'tag'];
export const kindName = (kind: number): string => KIND_NAMES[kind] ?? `kind ${kind}`;
export const sig = (t: FuncType): string => `(${[...t.params].map(valName).join(', ')}) -> (${[...t.results].map(valName).join(', ')})`;
function valName(c: string): string {
  return { i: 'i32', I: 'i64', f: 'f32', F: 'f64', v: 'v128', r: 'funcref', x: 'externref' }[c] ?? c;
}

/** Decides every import; throws IMPORT_MISSING for what cannot be linked under `policy`. */
export function planImports(imports: readonly ModuleImport[], policy: UnknownImports, where: string): LinkPlan {
  const plan: LinkPlan = { traps: [], hostCall: false };
  for (const imp of imports) {
    const isFn = imp.kind === 'function';
    const wasi = imp.module === WASI_MODULE && isFn ? WASI_SIGNATURES[imp.name] : undefined;
    if (wasi) {
      // A WASI name with another type cannot be linked as a trap either: wasmtime's linker already defines it.
      if (imp.type && (imp.type.params !== wasi.params || imp.type.results !== wasi.results)) {
        throw new ModuleError('IMPORT_MISSING', `module ${where} imports ${imp.module}.${imp.name} with the type ${sig(imp.type)}: the sandbox provides it with a different signature`);
      }
      continue;
    }
    const hostCall = imp.module === HOST_CALL.module && imp.name === HOST_CALL.name && isFn &&
      (imp.type === undefined || (imp.type.params === HOST_CALL.params && imp.type.results === HOST_CALL.results));
    if (hostCall) {
      plan.hostCall = true;
      continue;
    }
    if (isFn && policy === 'trap') {
      plan.traps.push({ module: imp.module, name: imp.name });
      continue;
    }
    throw new ModuleError('IMPORT_MISSING', `module ${where} imports ${imp.module}.${imp.name} (${imp.kind}), which the sandbox does not provide: ` +
      'only wasi_snapshot_preview1 functions and host.call are available' +
      (isFn ? " (unknownImports: 'trap' links unknown functions as traps)" : ''));
  }
  return plan;
}

/**
 * The export an execute calls. With `entry`: that export, which must take no
 * parameters and return nothing or one i32, after `_initialize` when the module
 * exports it. Without: `_start`, else `main`.
 */
export function planEntry(functions: ReadonlyMap<string, FuncType | undefined>, entry: string | undefined, where: string): EntryPlan {
  if (entry === undefined) {
    if (functions.has('_start')) return { entry: '_start', initialize: false };
    if (functions.has('main')) return { entry: 'main', initialize: false };
    throw new ModuleError('NO_ENTRY', `module has no _start or main export: ${where}: build it as a WASI command (a program with main), not a library/reactor, or name the export to call with the execute's entry option`);
  }
  const type = functions.get(entry);
  const fits = (t: FuncType | undefined): boolean => t === undefined || (t.params === '' && (t.results === '' || t.results === 'i'));
  if (!functions.has(entry) || !fits(type)) {
    const names = [...functions.keys()];
    const found = functions.has(entry) && type ? ` (it has type ${sig(type)})` : '';
    throw new ModuleError('NO_ENTRY', `module has no export "${entry}" of type () -> i32 or () -> ()${found}: function exports are: ${names.length > 0 ? names.join(', ') : '(none)'} (module ${where})`);
  }
  const init = functions.get('_initialize');
  return { entry, initialize: functions.has('_initialize') && entry !== '_initialize' && (init === undefined || (init.params === '' && init.results === '')) };
}
