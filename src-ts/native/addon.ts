// Finds and loads the native addon: MIMOBOX_NATIVE_PATH when set (and only
// it), else the platform package `mimobox-wasm-<platform>` (an optional
// dependency of the published package, built from npm/<platform>/), then a
// locally built .node in the package root (`npm run build:native` or the
// install script's source build), then npm/<platform>/ (after `napi artifacts`).
import { moduleUrl } from '../module-url.js';
import { SandboxError } from '../shared/errors.js';
import type { NativeHostAnswer } from './addon-types.js';

// Node's built-ins through process.getBuiltinModule, not `import`: on the
// package's import path an ES import of a built-in builds a module facade
// (~1-3 ms each in a fresh process; bench/README.md, "Where the time goes").
import { builtin } from '../shared/node-floor.js';

const { createRequire } = builtin('node:module');
const { existsSync, readFileSync } = builtin('node:fs');
const { dirname, isAbsolute, join, resolve } = builtin('node:path');
const { fileURLToPath } = builtin('node:url');

// The addon's types are the ones napi build generates from src-rs/binding
// (index.d.ts, importable as ./addon-types.ts): never written by hand here.
export type {
  NativeDir, NativeExecuteRequest, NativeHostAnswer, NativeInfo, NativeLimits, NativeLogLine, NativeModule, NativeResult,
  NativeSandbox, NativeSandboxOptions, NativeSession, NativeSessionCall, NativeSessionOpen,
} from './addon-types.js';

/** The addon's exports, exactly as generated. */
export type NativeBinding = typeof import('./addon-types.js');

/** A hostCall as the addon calls it: always resolves, or rejects with the fault's message. */
export type NativeHostFunction = (request: Buffer) => Promise<NativeHostAnswer>;

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
