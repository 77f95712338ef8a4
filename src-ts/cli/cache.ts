// `mimobox cache path|stats|clear`: the native backend's compiled-module cache.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadNativeBinding, type NativeBinding } from '../native.js';
import { CACHE_HELP } from './help.js';
import { write, type Io } from './io.js';
import { defaultCacheDir, formatBytes } from './parse.js';
import { parseOptions, usage } from './usage.js';

const CACHE_OPTIONS = {
  'cache-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function tryNative(): NativeBinding | undefined {
  try {
    return loadNativeBinding();
  } catch {
    return undefined;
  }
}

export interface CacheStats {
  path: string;
  files: number;
  bytes: number;
}

/** Counts .cwasm files and their bytes under the root's wasmtime-* directories. */
export function cacheStats(root: string): CacheStats {
  let files = 0;
  let bytes = 0;
  for (const sub of safeReaddir(root)) {
    const dir = join(root, sub);
    if (!sub.startsWith('wasmtime-') || !isDir(dir)) continue;
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

/** What src-rs/cache.rs clear_cache does, for hosts without the native addon. */
function clearCacheTs(root: string): number {
  let removed = 0;
  for (const sub of safeReaddir(root)) {
    const dir = join(root, sub);
    if (!sub.startsWith('wasmtime-') || !isDir(dir)) continue;
    for (const name of safeReaddir(dir)) {
      // The artefacts with their records, locks and index entries; counted as modules.
      if (name.startsWith('.tmp-') || /\.(cwasm|meta|fp|lock)$/.test(name)) {
        rmSync(join(dir, name), { force: true });
        if (name.endsWith('.cwasm')) removed++;
      }
    }
    try {
      rmSync(dir); // only when empty, as the native version
    } catch {
      /* not empty */
    }
  }
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export async function cacheCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseOptions(
    () => parseArgs({ args, options: CACHE_OPTIONS, allowPositionals: true, strict: true }),
    'cache',
  );
  if (values.help) {
    await write(io.stdout, CACHE_HELP);
    return 0;
  }
  const [sub, ...extra] = positionals;
  if (sub === undefined) throw usage('cache: missing subcommand (path, clear or stats)', 'cache');
  if (!['path', 'clear', 'stats'].includes(sub)) throw usage(`cache: unknown subcommand ${JSON.stringify(sub)}`, 'cache');
  if (extra.length > 0) throw usage(`cache ${sub}: unexpected argument ${JSON.stringify(extra[0])}`, 'cache');
  const explicit = values['cache-dir'];
  if (explicit !== undefined && explicit.length === 0) throw usage('--cache-dir: empty path', 'cache');
  const dir = explicit === undefined ? undefined : isAbsolute(explicit) ? explicit : resolve(explicit);

  const native = tryNative();
  const root = native ? native.cacheDirFor(dir ?? null) : defaultCacheDir(dir);
  if (!root) {
    await write(io.stderr, 'mimobox: no cache directory: set MIMOBOX_CACHE_DIR or HOME, or pass --cache-dir\n');
    return 1;
  }
  if (sub === 'path') {
    await write(io.stdout, `${root}\n`);
    return 0;
  }
  if (sub === 'stats') {
    const stats = cacheStats(root);
    await write(
      io.stdout,
      values.json
        ? `${JSON.stringify(stats)}\n`
        : `path: ${stats.path}\nfiles: ${stats.files}\nbytes: ${stats.bytes} (${formatBytes(stats.bytes)})\n`,
    );
    return 0;
  }
  const removed = native ? native.clearCompiledCache(dir ?? null) : clearCacheTs(root);
  await write(io.stdout, values.json ? `${JSON.stringify({ path: root, removed })}\n` : `removed ${removed} compiled module(s) from ${root}\n`);
  return 0;
}
