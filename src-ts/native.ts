// Finds and loads the native addon: MIMOBOX_NATIVE_PATH when set (and only
// it), else the platform package `mimobox-wasm-<platform>` (an optional
// dependency of the published package, built from npm/<platform>/), then a
// locally built .node in the package root (`npm run build:native` or the
// install script's source build), then npm/<platform>/ (after `napi artifacts`).
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleUrl } from './module-url.js';
import { SandboxError } from './errors.js';
import type { RawOutcome } from './result.js';

export interface NativeDir {
  host: string;
  guest: string;
}

export interface NativeSandboxOptions {
  memoryLimitBytes: number;
  timeoutMs: number;
  /** 'auto' (derived from the timeout), 'off' or 'exact' (then `fuel` is the budget). */
  fuelMode: 'auto' | 'off' | 'exact';
  fuel?: number;
  readonlyDirs: NativeDir[];
  readwriteDirs: NativeDir[];
  maxOutputBytes: number;
  cache: boolean;
  cacheDir?: string;
  maxConcurrency: number;
  queueTimeoutMs?: number;
  poolInstances?: number;
  /** Start executes on the calling thread for a bounded slice. Default true. */
  inline?: boolean;
  /** Deepest wasm stack, in bytes. */
  stackLimitBytes?: number;
  /** Largest module accepted, in bytes. */
  maxModuleBytes?: number;
  /** Function imports the sandbox does not provide: refuse the module, or link each as a trap. */
  unknownImports?: 'error' | 'trap';
}

export interface NativeExecuteRequest {
  path: string;
  args: string[];
  /** "KEY=VALUE" strings, already merged. */
  env: string[];
  stdin: Uint8Array;
  executionId: number;
  /** Export to run instead of `_start`/`main`. */
  entry?: string;
  /** False: start on a worker even where an inline start is allowed. */
  startInline?: boolean;
}

/** What the addon resolves with: the raw outcome plus diagnostics for the logger. */
/** One diagnostic for the logger. */
export interface NativeLogLine {
  level: 'info' | 'warn';
  message: string;
}

export interface NativeResult extends RawOutcome {
  /** Diagnostics of this execute ("compiled and cached", cache warnings). */
  log: NativeLogLine[];
  /** Messages of the hostCall errors, each answered -2 to the guest. */
  hostCallFaults: string[];
  /** A session call's i32 result. */
  returnValue?: number | null;
  /** Set when a session call ended the session: 'timeout' | 'trap' | 'exit'. */
  sessionEnded?: string | null;
}

/** A hostCall as the addon calls it: always resolves, or rejects with the fault's message. */
export type NativeHostFunction = (request: Buffer) => Promise<{ bytes?: Buffer }>;

export interface NativeSessionOpen {
  args: string[];
  env: string[];
  executionId: number;
}

export interface NativeSessionCall {
  export: string;
  input?: Uint8Array;
  alloc?: string;
  timeoutMs?: number;
  fuel?: number;
  executionId: number;
}

export interface NativeSessionInstance {
  call(sandbox: NativeSandboxInstance, request: NativeSessionCall): Promise<NativeResult>;
  close(shutdown: string | null | undefined, budgetMs: number): Promise<void>;
  readonly ended: string | null;
}

/** A module compiled and linked once by `loadModule`. */
export interface NativeModuleInstance {
  readonly hash: string;
  readonly log: NativeLogLine[];
}

export interface NativeSandboxInstance {
  /** The result itself when the execute finished within its inline slice, else a Promise of it. */
  execute(request: NativeExecuteRequest): NativeResult | Promise<NativeResult>;
  executeLoaded(module: NativeModuleInstance, request: NativeExecuteRequest): NativeResult | Promise<NativeResult>;
  loadModule(
    path?: string | null,
    bytes?: Uint8Array | null,
    name?: string | null,
    entry?: string | null,
    forSession?: boolean | null,
  ): Promise<NativeModuleInstance>;
  cancel(executionId: number): void;
  destroy(): Promise<void>;
  setHostCall(host: NativeHostFunction): void;
  openSession(module: NativeModuleInstance, request: NativeSessionOpen, host?: NativeHostFunction | null): Promise<NativeSessionInstance>;
}

export interface NativeInfo {
  wasmtimeVersion: string;
  workerThreads: number;
  defaultCacheDir?: string | null;
  limits: { hostCallMaxBytes: number; [name: string]: number };
  errorCodes: string[];
}

/** The addon's exports (index.d.ts is the generated declaration of the same). */
export interface NativeBinding {
  NativeSandbox: new (options: NativeSandboxOptions) => NativeSandboxInstance;
  nativeInfo(): NativeInfo;
  cacheDirFor(cacheDir?: string | null): string | null;
  clearCompiledCache(cacheDir?: string | null): number;
  setMemoryBudgetMb(mb: number): void;
  memoryBudgetMb(): number;
}

/** The npm platform suffix napi-rs uses, e.g. linux-x64-gnu, darwin-arm64, win32-x64-msvc. */
export function platformSuffix(): string {
  const { platform, arch } = process;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

let muslCache: boolean | undefined;

function isMusl(): boolean {
  muslCache ??= detectMusl();
  return muslCache;
}

/**
 * Which libc this Node process itself runs on. /proc/self/maps answers in
 * ~0.2 ms (reading the node binary's ELF interpreter was measured slower in a
 * fresh process); process.report.getReport() (the napi-rs template's way)
 * costs ~7 ms, which was most of a cold start, so it is only the fallback.
 */
function detectMusl(): boolean {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    if (maps.includes('ld-musl') || maps.includes('libc.musl')) return true;
    if (maps.includes('libc.so.6')) return false;
  } catch {
    /* not Linux /proc: fall through */
  }
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    if (report?.header) return !report.header.glibcVersionRuntime;
  } catch {
    /* fall through */
  }
  return false;
}

/** The package root: two levels above dist/<esm|cjs>/native.js. */
export function packageRoot(): string {
  return join(dirname(fileURLToPath(moduleUrl)), '..', '..');
}

let cached: { binding?: NativeBinding; error?: SandboxError } | undefined;

/** The platform package's name for this host, e.g. `mimobox-wasm-linux-x64-gnu`. */
export function platformPackageName(suffix = platformSuffix()): string {
  return `mimobox-wasm-${suffix}`;
}

/** Where the loader looks for the addon, in order (module names or absolute paths). */
export function nativeCandidates(suffix = platformSuffix()): string[] {
  const override = process.env.MIMOBOX_NATIVE_PATH;
  if (override) return [resolve(override)];
  const file = `mimobox-wasm.${suffix}.node`;
  // A binary built in place (npm run build:native, or the install script's
  // source build) comes first, as in napi-rs's own loader; it costs one stat
  // where a failed package lookup costs a module resolution and an exception.
  return [join(packageRoot(), file), platformPackageName(suffix), join(packageRoot(), 'npm', suffix, file)];
}

/**
 * Loads a .node file by path without the CommonJS loader: from an ES module,
 * the first `require` sets that loader up, which costs as much again as the
 * dlopen itself (measured 1.9 ms vs 0.9 ms for this addon).
 */
function dlopen(path: string): unknown {
  const module = { exports: {} as unknown };
  process.dlopen(module, path);
  return module.exports;
}

/** Loads the addon once per process; throws a NATIVE_UNAVAILABLE error listing what it tried. */
export function loadNativeBinding(): NativeBinding {
  if (cached?.binding) return cached.binding;
  if (cached?.error) throw cached.error;
  const suffix = platformSuffix();
  const tried: string[] = [];
  const candidates = nativeCandidates(suffix);
  for (const candidate of candidates) {
    if (isAbsolute(candidate) && !existsSync(candidate)) {
      tried.push(`${candidate}: not found`);
      continue;
    }
    try {
      const binding = (isAbsolute(candidate) ? dlopen(candidate) : createRequire(moduleUrl)(candidate)) as NativeBinding;
      if (typeof binding.NativeSandbox !== 'function') throw new Error('not a mimobox-wasm addon');
      cached = { binding };
      return binding;
    } catch (e) {
      const message = (e as Error).message.split('\n')[0] ?? String(e);
      // "Cannot find module 'mimobox-wasm-<platform>'": the package itself is absent (not
      // a package whose .node is missing or fails to dlopen: that message is kept).
      const missing =
        (e as { code?: string }).code === 'MODULE_NOT_FOUND' && !isAbsolute(candidate) && message.includes(`'${candidate}'`);
      tried.push(`${candidate}: ${missing ? 'not installed' : message}`);
    }
  }
  const hint = process.env.MIMOBOX_NATIVE_PATH
    ? 'MIMOBOX_NATIVE_PATH is set, so nothing else was tried: fix or unset it, '
    : `Reinstall so npm fetches the optional dependency ${platformPackageName(suffix)} (check that optional ` +
      'dependencies are not omitted), build from source with `npm run build:native` (needs Rust), set MIMOBOX_NATIVE_PATH, ';
  const error = new SandboxError(
    'NATIVE_UNAVAILABLE',
    `the mimobox-wasm native addon for ${suffix} could not be loaded. Tried:\n  ${tried.join('\n  ')}\n` +
      hint +
      "or use the pure-JS backend: createSandbox(config, { backend: 'js' }) ('auto', the default, falls back to it).",
  );
  cached = { error };
  throw error;
}

/** For tests: forget a previous load attempt. */
export function resetNativeBindingForTests(): void {
  cached = undefined;
}
