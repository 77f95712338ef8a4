// The native backend's compiled-module cache on disk, as files: where it is
// (src-rs/module/artefact.rs default_cache_dir), what it holds, clearing it.
// The same rules the addon applies, written here without it, so the cache can
// be found, counted and cleared where the addon does not load, and so code
// that must keep grants away from it (grant-guard.ts) knows where it is.
// native/compiled-cache.ts asks the addon first. test/cli/compiled-cache.test.ts
// checks that both agree.
import { builtin } from './node-floor.js';

// Built-ins through getBuiltinModule, not `import`: this file is on the import
// path (config → grant-guard), where an ES import of a built-in costs ms.
const { lstatSync, readdirSync, rmdirSync, rmSync, statSync } = builtin('node:fs');
const { isAbsolute, join } = builtin('node:path');

export interface CompiledCacheStats {
  path: string;
  files: number;
  bytes: number;
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
