// Loads, checks and compiles a guest module, keeping compiled
// WebAssembly.Modules in memory per (SHA-256 of the bytes, memory cap) so hot
// executes skip reading-and-compiling. Compilation is async on the main
// thread (V8 compiles off-thread); a Module posts to workers without copying.
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InternalError, ModuleError } from '../../shared/errors.js';
import type { Logger } from '../../shared/types.js';
import { parseModule, planMemory, WASM_PAGE } from './memory-plan.js';
import type { ModuleImport } from './linking.js';
import { unsupportedFeature } from './features.js';
import { instrumentFuel } from '../instrument/instrument.js';
import { functionType, type FuncType, type ModuleLayout } from '../binary/wasm-binary.js';
import { boundBulkOps, BulkRewriteError } from '../instrument/bulk-ops.js';
import { checkKind, notFound, readModuleFile, tooLarge } from './module-file.js';

export interface LoadedModule {
  module: WebAssembly.Module;
  imports: ModuleImport[];
  /** Function exports, with their types when the type section was read. */
  functions: Map<string, FuncType | undefined>;
  /** Set when the module cannot start under the memory cap (reported as a memory trap). */
  refusal?: string;
}

export interface LoadLimits {
  memoryLimitBytes: number;
  maxModuleBytes: number;
  /** Instrument for fuel (instrument.ts): a separate compiled module. */
  metered: boolean;
}

const MAX_ENTRIES = 64;
const byHash = new Map<string, LoadedModule>();
/**
 * The file's identity -> hash key: lets an unchanged file skip reading and
 * hashing. Device, inode, size, mtime and ctime (ns), as the native cache:
 * a rewrite in place keeps size and mtime if the writer resets them, but not
 * its ctime; a replace-by-rename gets a new inode.
 */
const byStat = new Map<string, string>();

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as K);
}

const mib = (bytes: number): string => `${Math.round((bytes / 1048576) * 100) / 100} MiB`;

export async function loadModule(path: string, limits: LoadLimits, logger?: Logger): Promise<LoadedModule> {
  const abs = resolve(path);
  const where = abs === path ? abs : `${abs} (cmd[0] "${path}", relative to the process cwd)`;
  let st: BigIntStats;
  try {
    st = await stat(abs, { bigint: true });
  } catch (e) {
    throw notFound(where, e);
  }
  // Before anything opens it: a FIFO or a device is refused here (and again
  // on the open descriptor, should one be swapped in meanwhile).
  checkKind(st, where);
  if (st.size > BigInt(limits.maxModuleBytes)) throw tooLarge(where, st.size, limits.maxModuleBytes);
  const hit = byStat.get(statKey(abs, st, limits));
  const cached = hit === undefined ? undefined : byHash.get(hit);
  if (cached) return cached;

  // Keyed by what was read (fstat of the open file), not by the stat above.
  const file = await readModuleFile(abs, where, limits.maxModuleBytes);
  const { key, loaded } = await byContent(file.bytes, where, abs, limits, logger);
  remember(byStat, statKey(abs, file.st, limits), key);
  return loaded;
}

function statKey(abs: string, st: BigIntStats, limits: LoadLimits): string {
  const capPages = Math.floor(limits.memoryLimitBytes / WASM_PAGE);
  return [abs, st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs, capPages, limits.metered].join('\0');
}

/** A module given as bytes (openSession(bytes)): cached by content like a file's. */
export async function loadModuleBytes(bytes: Uint8Array, limits: LoadLimits, logger?: Logger): Promise<LoadedModule> {
  const where = `<module bytes (${bytes.length} bytes)>`;
  if (bytes.length > limits.maxModuleBytes) {
    throw new ModuleError('MODULE_TOO_LARGE', `the module (${bytes.length} bytes) is over the ${mib(limits.maxModuleBytes)} limit: strip it (wasm-strip), or raise maxModuleMb`);
  }
  return (await byContent(bytes, where, where, limits, logger)).loaded;
}

async function byContent(bytes: Uint8Array, where: string, name: string, limits: LoadLimits, logger?: Logger): Promise<{ key: string; loaded: LoadedModule }> {
  const capPages = Math.floor(limits.memoryLimitBytes / WASM_PAGE);
  const key = `${createHash('sha256').update(bytes).digest('hex')}:${capPages}${limits.metered ? ':fuel' : ''}`;
  let loaded = byHash.get(key);
  if (!loaded) {
    loaded = await compile(bytes, where, limits);
    remember(byHash, key, loaded);
    logger?.('info', `compiled ${name} and cached it in memory (${key.slice(0, 12)})`);
  }
  return { key, loaded };
}

async function compile(original: Uint8Array, where: string, limits: LoadLimits): Promise<LoadedModule> {
  let bytes = original;
  let layout = parseModule(bytes);
  if (limits.metered && layout) {
    bytes = instrumentFuel(bytes, layout, where);
    layout = parseModule(bytes);
  }
  // After the fuel rewrite, so the helpers it adds are not metered (bulk-ops.ts).
  let unbounded: string | undefined;
  try {
    bytes = boundBulkOps(bytes, layout);
    if (bytes !== original) layout = parseModule(bytes);
  } catch (e) {
    if (!(e instanceof BulkRewriteError)) throw e;
    unbounded = e.message;
  }
  const plan = planMemory(bytes, layout, limits.memoryLimitBytes);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(plan.bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    // V8's verdict on the module as given: invalid, or a feature it lacks.
    if (bytes !== original) await WebAssembly.compile(original as Uint8Array<ArrayBuffer>).then(() => {
      throw new InternalError(`the JS backend's rewrite of module file ${where} made it invalid (${e instanceof Error ? e.message : String(e)}): ` +
        "please report it; backend: 'native' runs it", { cause: e });
    }, () => undefined);
    throw compileError(e, where);
  }
  if (unbounded !== undefined) {
    // It compiles, but a guest whose bulk operators run unbounded could not be stopped.
    throw new ModuleError('MODULE_UNSUPPORTED', `module file ${where} cannot be run by the JS backend: it could not be ` +
      `rewritten to bound its bulk memory and table operations (${unbounded}), without which a guest could not be stopped ` +
      "at its deadline: use backend: 'native'");
  }
  return describeLoaded(module, layout, plan.refusal);
}

function compileError(e: unknown, where: string): ModuleError {
  const message = e instanceof Error ? e.message : String(e);
  const feature = unsupportedFeature(message);
  if (feature) {
    return new ModuleError('MODULE_UNSUPPORTED', `module file ${where} needs ${feature}, which this Node's WebAssembly engine ` +
      `(V8 ${process.versions.v8}) does not support: the native backend runs it (backend: 'native')`, { cause: e });
  }
  return new ModuleError('MODULE_INVALID', `module file ${where} is not a valid WebAssembly module (${message}): build it for wasm32-wasip1`);
}

function describeLoaded(module: WebAssembly.Module, layout: ModuleLayout | undefined, refusal: string | undefined): LoadedModule {
  // The binary reader's lists are in the same order as V8's; it adds the types.
  const rawImports = layout?.imports ?? [];
  const imports: ModuleImport[] = WebAssembly.Module.imports(module).map((imp, i) => {
    const raw = rawImports[i];
    const typeIndex = raw && raw.kind === 0 && raw.name === imp.name ? raw.typeIndex : undefined;
    return { module: imp.module, name: imp.name, kind: imp.kind, type: typeIndex === undefined ? undefined : layout?.types?.[typeIndex] };
  });
  const functions = new Map<string, FuncType | undefined>();
  for (const exp of WebAssembly.Module.exports(module)) {
    if (exp.kind !== 'function') continue;
    const raw = layout?.exports.find((x) => x.name === exp.name && x.kind === 0);
    functions.set(exp.name, raw && layout ? functionType(layout, raw.index) : undefined);
  }
  const loaded: LoadedModule = { module, imports, functions };
  if (refusal !== undefined) loaded.refusal = refusal;
  return loaded;
}
