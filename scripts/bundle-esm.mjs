// Regroups the ESM build (dist/esm, as tsc wrote it) so that
// `import('mimobox-wasm')` loads three files instead of fifteen: Node 20's ES
// module loader costs ~0.6 ms per module in a fresh process (bench/README.md,
// "Where the time goes").
//
// Every module stays an entry at its own path, so deep imports, the tests,
// the other entries (python, queue, the CLI) and the worker scripts loaded by
// URL keep working, and each module still exists once: the modules that
// dist/esm/index.js imports statically move into two shared chunks (the part
// the JS backend's worker threads also need, and the rest), and their
// own files become facades that re-export from them (rolldown with
// preserveEntrySignatures 'strict'). The CommonJS build is left as tsc wrote it.
//   node scripts/bundle-esm.mjs [dir]      (run by scripts/build-ts.mjs)
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rolldown } from 'rolldown';

const STATIC_IMPORT = /^(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|^import\s+['"](\.[^'"]+)['"]/gm;

/** The files `entry` imports statically, itself included (dynamic imports are not followed). */
export function staticGraph(entry) {
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) walk(resolve(dirname(file), m[1] ?? m[2]));
  };
  walk(entry);
  return seen;
}

function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath, e.name));
}

/** Worker scripts, started by URL (src-ts/js-backend/sandbox.ts): each loads in a thread of its own. */
const WORKERS = ['js-backend/threads/worker.js', 'js-backend/threads/session-worker.js'];

/** Rewrites the .js files of `dir` in place; the .d.ts files stay as they are. */
export async function bundleEsm(dir) {
  const core = staticGraph(join(dir, 'index.js'));
  // What the workers share with the import path goes into a small chunk of its
  // own, so that a worker thread does not load (and run) all of the rest.
  const workerSide = new Set(WORKERS.flatMap((w) => [...staticGraph(join(dir, w))]).filter((f) => core.has(f)));
  const files = jsFiles(dir);
  const input = Object.fromEntries(files.map((f) => [relative(dir, f).slice(0, -3), f]));
  const bundle = await rolldown({
    input,
    platform: 'node',
    // Node's built-ins and the dependencies (ajv, bullmq, ...) stay imports.
    external: (id) => !id.startsWith('.') && !isAbsolute(id),
    preserveEntrySignatures: 'strict',
  });
  const out = mkdtempSync(join(dirname(dir), '.bundle-'));
  try {
    await bundle.write({
      dir: out,
      format: 'esm',
      entryFileNames: '[name].js',
      // At the root of dist/esm, where module-url.js was: the URLs it resolves
      // (the JS backend's workers, the package root) stay the same.
      chunkFileNames: '[name]-[hash].js',
      codeSplitting: {
        groups: [
          // resolve(): the same spelling of a path as staticGraph's, on Windows too.
          { name: 'import-path-shared', test: (id) => workerSide.has(resolve(id)) },
          { name: 'import-path', test: (id) => core.has(resolve(id)) && !workerSide.has(resolve(id)) },
        ],
      },
    });
    await bundle.close();
    for (const f of files) rmSync(f);
    cpSync(out, dir, { recursive: true });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return { modules: files.length, grouped: core.size, shared: workerSide.size };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'esm'));
  const { modules, grouped, shared } = await bundleEsm(dir);
  process.stderr.write(`bundle-esm: ${modules} modules; the ${grouped} on the import path now load as two chunks (${shared} of them shared with the worker threads)\n`);
}
