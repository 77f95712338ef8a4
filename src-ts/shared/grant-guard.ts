// Grants that must not reach the compiled cache or its key.
// A guest writes as the host user: a grant that reaches the native backend's compiled cache
// (machine code the host maps) or the key that signs its records lets the guest plant code
// the host runs. src-rs/module/protect.rs refuses such grants for every caller of the addon;
// this is the same rule, early and for both backends (a JS-backend guest could plant code for
// a later native sandbox just as well).

import { defaultCacheDir } from './cache-dir.js';
import { ConfigError } from './errors.js';
import { builtin } from './node-floor.js';

interface GrantDir {
  host: string;
}

// A built-in through getBuiltinModule, not `import` (why: native/addon.ts).
const { dirname, basename, isAbsolute, join, normalize, sep } = builtin('node:path');
const { realpathSync } = builtin('node:fs');
const { tmpdir } = builtin('node:os');

/** The Python helper's stdlib link directory under a cache root (granted read-only by it). */
const PYTHON_LINK_DIR = 'python-lib';

function absEnv(k: string): string | undefined {
  const v = process.env[k];
  return v && isAbsolute(v) ? v : undefined;
}

/** src-rs/module/artefact.rs default_cache_dir (cache-dir.ts holds the rule), undefined when none applies. */
const defaultCacheRoot = (explicit: string | undefined): string | undefined => defaultCacheDir(explicit) ?? undefined;

/** src-rs/module/mac.rs key_dir: where the key signing the cache's records lives. */
function keyDir(): string | undefined {
  const own = absEnv('MIMOBOX_KEY_DIR');
  if (own) return own;
  if (process.platform === 'win32') {
    const appData = absEnv('APPDATA');
    return appData ? join(appData, 'mimobox') : undefined;
  }
  const xdg = absEnv('XDG_CONFIG_HOME');
  if (xdg) return join(xdg, 'mimobox');
  const home = absEnv('HOME');
  return home ? join(home, '.config', 'mimobox') : undefined;
}

/** src-rs/module/protect.rs protected_dirs. */
export function protectedDirs(cacheDir: string | undefined): Array<[what: string, dir: string]> {
  const out: Array<[string, string]> = [];
  const own = defaultCacheRoot(cacheDir);
  if (own) out.push(['the compiled-module cache', own]);
  const shared = defaultCacheRoot(undefined);
  if (shared) out.push(['the default compiled-module cache', shared]);
  else out.push(["the Python helper's link directory", join(tmpdir(), `mimobox-${process.getuid?.() ?? 'user'}`)]);
  const key = keyDir();
  if (key) out.push(["the compiled cache's key directory", key]);
  return out;
}

/** The real path of `path`: its deepest existing ancestor resolved, the rest appended. */
function realPath(path: string): string {
  const rest: string[] = [];
  let at = normalize(path);
  for (;;) {
    try {
      return join(realpathSync.native(at), ...rest.reverse());
    } catch {
      const parent = dirname(at);
      if (parent === at) return normalize(path);
      rest.push(basename(at));
      at = parent;
    }
  }
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** src-rs/module/protect.rs check_grants: refuses a grant that overlaps a protected directory. */
export function checkProtectedGrants(readonly: readonly GrantDir[], readwrite: readonly GrantDir[], cacheDir: string | undefined): void {
  const protectedReal = protectedDirs(cacheDir).map(([what, dir]) => [what, realPath(dir)] as const);
  const grants = [
    ...readonly.map((g, i) => ['fsReadonly', i, g] as const),
    ...readwrite.map((g, i) => ['fsReadwrite', i, g] as const),
  ];
  for (const [field, i, grant] of grants) {
    const real = realPath(grant.host);
    for (const [what, dir] of protectedReal) {
      if (!within(real, dir) && !within(dir, real)) continue;
      const link = join(dir, PYTHON_LINK_DIR);
      if (field === 'fsReadonly' && within(real, link) && real !== link) continue;
      const how = within(real, dir) ? 'lies inside' : 'contains';
      throw new ConfigError(
        `${field}[${i}]`,
        `${grant.host} ${how} ${what} (${dir}): a guest writes as the host user, so a grant that reaches it ` +
          'could plant native code the host runs; grant a narrower directory, or move cacheDir ' +
          '(MIMOBOX_CACHE_DIR, MIMOBOX_KEY_DIR) outside the grant',
      );
    }
  }
}

