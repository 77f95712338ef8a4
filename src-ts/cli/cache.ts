// `mimobox cache path|stats|clear`: the native backend's compiled-module
// cache, through the library's own code for it (compiled-cache.ts).
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clearCompiledCache, compiledCacheRoot, compiledCacheStats } from '../native/compiled-cache.js';
import { CACHE_HELP } from './help.js';
import { write, type Io } from './io.js';
import { formatBytes } from './parse.js';
import { parseOptions, usage } from './usage.js';

const CACHE_OPTIONS = {
  'cache-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

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

  const root = compiledCacheRoot(dir);
  if (!root) {
    await write(io.stderr, 'mimobox: no cache directory: set MIMOBOX_CACHE_DIR or HOME, or pass --cache-dir\n');
    return 1;
  }
  if (sub === 'path') {
    await write(io.stdout, `${root}\n`);
    return 0;
  }
  if (sub === 'stats') {
    const stats = compiledCacheStats(root);
    await write(
      io.stdout,
      values.json
        ? `${JSON.stringify(stats)}\n`
        : `path: ${stats.path}\nfiles: ${stats.files}\nbytes: ${stats.bytes} (${formatBytes(stats.bytes)})\n`,
    );
    return 0;
  }
  const removed = clearCompiledCache(dir);
  await write(io.stdout, values.json ? `${JSON.stringify({ path: root, removed })}\n` : `removed ${removed} compiled module(s) from ${root}\n`);
  return 0;
}
