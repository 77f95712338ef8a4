// The compiled-module cache as the CLI and library see it: the native addon is
// the authority on where it is and what clearing it removes
// (src-rs/module/artefact.rs); without the addon (the pure-JS backend, an
// addon that failed to load) the same rules apply from shared/cache-dir.ts.
import { clearCacheDir, defaultCacheDir } from '../shared/cache-dir.js';
import { loadNativeBinding, type NativeBinding } from './addon.js';

export { compiledCacheStats, type CompiledCacheStats } from '../shared/cache-dir.js';

function tryNative(): NativeBinding | undefined {
  try {
    return loadNativeBinding();
  } catch {
    return undefined;
  }
}

/**
 * The cache root a sandbox with this `cacheDir` (or none) uses; `null` when none applies
 * (no cache variable and no home directory).
 */
export function compiledCacheRoot(cacheDir?: string): string | null {
  const native = tryNative();
  return native ? native.cacheDirFor(cacheDir ?? null) : defaultCacheDir(cacheDir);
}

/** Removes the compiled modules (with their records and locks) under the cache root; returns how many. */
export function clearCompiledCache(cacheDir?: string): number {
  const native = tryNative();
  if (native) return native.clearCompiledCache(cacheDir ?? null);
  const root = defaultCacheDir(cacheDir);
  return root === null ? 0 : clearCacheDir(root);
}
