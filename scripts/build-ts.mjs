// Builds src-ts twice: ESM to dist/esm (the canonical build) and CommonJS to
// dist/cjs, so both `import` and `require` work, as napi-rs packages do.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// The addon's generated types (index.d.ts) as src-ts/native/addon-types.ts.
execFileSync(process.execPath, [join(root, 'scripts/binding-types.mjs')], { stdio: 'inherit' });
// Built beside dist/ and swapped in by rename, so a test run or a second
// build never sees a half-written or missing dist/ (two builds at once each
// swap in a whole tree; the last one stays).
const out = join(root, `.dist-build-${process.pid}`);
rmSync(out, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', join(out, 'esm')], { stdio: 'inherit' });
// The ESM import path as one chunk (scripts/bundle-esm.mjs).
execFileSync(process.execPath, [join(root, 'scripts/bundle-esm.mjs'), join(out, 'esm')], { stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.cjs.json'), '--outDir', join(out, 'cjs')], { stdio: 'inherit' });
mkdirSync(join(out, 'cjs'), { recursive: true });
writeFileSync(join(out, 'cjs/package.json'), '{ "type": "commonjs" }\n');
// `import.meta.url` does not exist in CommonJS: module-url is the one file
// that differs between the two builds.
writeFileSync(
  join(out, 'cjs/module-url.js'),
  '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n' +
    'exports.moduleUrl = require("node:url").pathToFileURL(__filename).href;\n',
);
const dist = join(root, 'dist');
const olds = [];
for (let attempt = 0; ; attempt++) {
  const old = join(root, `.dist-old-${process.pid}-${attempt}`);
  try {
    renameSync(dist, old);
    olds.push(old);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  try {
    renameSync(out, dist);
    break;
  } catch (e) {
    // Another build swapped its tree in between our two renames: move it aside too.
    if (!['ENOTEMPTY', 'EEXIST', 'EPERM'].includes(e.code) || attempt > 20) throw e;
  }
}
for (const old of olds) rmSync(old, { recursive: true, force: true });
