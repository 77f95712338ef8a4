// The native backend's compiled-module cache on disk: where it is, what it
// holds, clearing it. The native addon is the authority (src-rs/module/artefact.rs
// default_cache_dir and clear); without it (the pure-JS backend, an addon that
// failed to load) the same rules are applied here, so the cache can still be
// found and cleared. test/cli/compiled-cache.test.ts checks that both agree.
import { lstatSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { loadNativeBinding, type NativeBinding } from '../native/addon.js';

export interface CompiledCacheStats {
  path: string;
  files: number;
  bytes: number;
}

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

/** Counts the compiled modules (.cwasm in the root's wasmtime-* directories) and their bytes. */
export function compiledCacheStats(root: string): CompiledCacheStats {
  let files = 0;
  let bytes = 0;
  for (const dir of artefactDirs(root)) {
    for (const name of safeReaddir(dir)) {
      if (!name.endsWith('.cwasm')) continue;
      try {
        const st = statSync(join(dir, name));
        if (!st.isFile()) continue;
        files++;
        bytes += st.size;
      } catch {
        /* removed meanwhile */
      }
    }
  }
  return { path: root, files, bytes };
}

// ------------------------------------------------ the rules, without the addon

/**
 * src-rs/module/artefact.rs default_cache_dir: `explicit`, else $MIMOBOX_CACHE_DIR, else (Windows)
 * %LOCALAPPDATA%\mimobox\cache, else $XDG_CACHE_HOME/mimobox, else $HOME/.cache/mimobox, each
 * only when set to an absolute path. `null` when none applies.
 */
export function defaultCacheDir(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | null {
  if (explicit) return explicit;
  const abs = (k: string) => {
    const v = env[k];
    return v && isAbsolute(v) ? v : undefined;
  };
  const own = abs('MIMOBOX_CACHE_DIR');
  if (own) return own;
  if (platform === 'win32') {
    const local = abs('LOCALAPPDATA');
    return local ? join(local, 'mimobox', 'cache') : null;
  }
  const xdg = abs('XDG_CACHE_HOME');
  if (xdg) return join(xdg, 'mimobox');
  const home = abs('HOME');
  return home ? join(home, '.cache', 'mimobox') : null;
}

/** The files src-rs/module/artefact.rs `ours` counts as the cache's: artefacts, records, locks, temporaries. */
function isCacheFile(name: string): boolean {
  return name.startsWith('.tmp-') || ['.cwasm', '.meta', '.fp', '.lock'].some((ext) => name.endsWith(ext));
}

/**
 * src-rs/module/artefact.rs clear: removes the cache's files (nothing else) from the root's
 * wasmtime-* directories, then each directory if that left it empty; returns how many
 * compiled modules went.
 */
export function clearCacheDir(root: string): number {
  let removed = 0;
  for (const dir of artefactDirs(root)) {
    for (const name of safeReaddir(dir)) {
      const path = join(dir, name);
      if (!isCacheFile(name) || isDirNoFollow(path)) continue;
      rmSync(path, { force: true });
      if (name.endsWith('.cwasm')) removed++;
    }
    try {
      rmdirSync(dir); // only when empty
    } catch {
      /* not empty */
    }
  }
  return removed;
}

/** The root's wasmtime-* directories: one per compatibility key (wasmtime version, target, settings). */
function artefactDirs(root: string): string[] {
  return safeReaddir(root)
    .filter((sub) => sub.startsWith('wasmtime-'))
    .map((sub) => join(root, sub))
    .filter((dir) => {
      try {
        return statSync(dir).isDirectory();
      } catch {
        return false;
      }
    });
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDirNoFollow(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return true; // gone meanwhile: nothing to remove
  }
}
