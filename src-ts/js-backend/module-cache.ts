// Loads, checks and compiles a guest module, keeping compiled
// WebAssembly.Modules in memory per (SHA-256 of the bytes, memory cap) so hot
// executes skip reading-and-compiling. Compilation is async on the main
// thread (V8 compiles off-thread); a Module posts to workers without copying.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MAX_MODULE_BYTES } from '../config.js';
import { ModuleError } from '../errors.js';
import type { Logger } from '../types.js';
import { parseModule, planMemory, WASM_PAGE } from './limits.js';
import { WASI_MODULE, WASI_SIGNATURES } from './wasi-defs.js';

export interface LoadedModule {
  module: WebAssembly.Module;
  entry: '_start' | 'main';
  /** Set when the module cannot start under the memory cap (reported as a memory trap). */
  refusal?: string;
}

const MAX_ENTRIES = 64;
const byHash = new Map<string, LoadedModule>();
/** path+size+mtime+inode -> hash key: lets an unchanged file skip reading and hashing. */
const byStat = new Map<string, string>();

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ENTRIES) map.delete(map.keys().next().value as K);
}

export async function loadModule(path: string, memoryLimitBytes: number, logger?: Logger): Promise<LoadedModule> {
  const abs = resolve(path);
  const where = abs === path ? abs : `${abs} (cmd[0] "${path}", relative to the process cwd)`;
  let st;
  try {
    st = await stat(abs, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModuleError('MODULE_NOT_FOUND', code === 'ENOENT' || code === 'ENOTDIR'
      ? `module file not found: ${where}: check the path in cmd[0]`
      : `module file ${where} cannot be read (${code ?? String(e)}): check its permissions`);
  }
  if (st.isDirectory()) {
    throw new ModuleError('MODULE_NOT_FOUND', `module path ${where} is a directory, not a .wasm file: pass the path of a WebAssembly module`);
  }
  if (st.size > BigInt(MAX_MODULE_BYTES)) {
    throw new ModuleError('MODULE_TOO_LARGE', `module file ${where} is ${st.size} bytes, over the ${MAX_MODULE_BYTES / 1048576} MiB limit: strip it (wasm-strip) or split it`);
  }
  const capPages = Math.floor(memoryLimitBytes / WASM_PAGE);
  const statKey = `${abs}\0${st.size}\0${st.mtimeNs}\0${st.ino}\0${capPages}`;
  const known = byStat.get(statKey);
  const hit = known === undefined ? undefined : byHash.get(known);
  if (hit) return hit;

  const bytes = new Uint8Array(await readFile(abs));
  if (bytes.length > MAX_MODULE_BYTES) {
    throw new ModuleError('MODULE_TOO_LARGE', `module file ${where} is ${bytes.length} bytes, over the ${MAX_MODULE_BYTES / 1048576} MiB limit`);
  }
  const key = `${createHash('sha256').update(bytes).digest('hex')}:${capPages}`;
  let loaded = byHash.get(key);
  if (!loaded) {
    loaded = await compile(bytes, where, memoryLimitBytes);
    remember(byHash, key, loaded);
    logger?.('info', `compiled ${abs} and cached it in memory (${key.slice(0, 12)})`);
  }
  remember(byStat, statKey, key);
  return loaded;
}

async function compile(bytes: Uint8Array, where: string, memoryLimitBytes: number): Promise<LoadedModule> {
  const layout = parseModule(bytes);
  const plan = planMemory(bytes, layout, memoryLimitBytes);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(plan.bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new ModuleError('MODULE_INVALID', `module file ${where} is not a valid WebAssembly module (${e instanceof Error ? e.message : String(e)}): build it for wasm32-wasip1`);
  }
  checkImports(module, layout?.types, layout?.imports, where);
  const exports = WebAssembly.Module.exports(module);
  const fn = (name: string) => exports.some((x) => x.name === name && x.kind === 'function');
  const entry = fn('_start') ? '_start' : fn('main') ? 'main' : undefined;
  if (!entry) {
    throw new ModuleError('NO_ENTRY', `module has no _start or main export: ${where}: build it as a WASI command (a program with main), not a library/reactor`);
  }
  return plan.refusal === undefined ? { module, entry } : { module, entry, refusal: plan.refusal };
}

/** Every import must be a wasi_snapshot_preview1 function of the right type (what the native linker provides). */
function checkImports(
  module: WebAssembly.Module,
  types: { params: string; results: string }[] | undefined,
  rawImports: { module: string; name: string; kind: number; typeIndex?: number }[] | undefined,
  where: string,
): void {
  for (const imp of WebAssembly.Module.imports(module)) {
    const sig = imp.module === WASI_MODULE && imp.kind === 'function' ? WASI_SIGNATURES[imp.name] : undefined;
    if (!sig) {
      throw new ModuleError('IMPORT_MISSING', `module ${where} imports ${imp.module}.${imp.name} (${imp.kind}), which the sandbox does not provide: only wasi_snapshot_preview1 functions are available`);
    }
  }
  if (!types || !rawImports) return;
  for (const imp of rawImports) {
    if (imp.kind !== 0 || imp.typeIndex === undefined) continue;
    const want = WASI_SIGNATURES[imp.name];
    const got = types[imp.typeIndex];
    if (want && got && (got.params !== want.params || got.results !== want.results)) {
      throw new ModuleError('IMPORT_MISSING', `module ${where} imports ${imp.module}.${imp.name} with the wrong type: the sandbox provides it with a different signature`);
    }
  }
}
