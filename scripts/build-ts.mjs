// Builds src-ts twice: ESM to dist/esm (the canonical build) and CommonJS to
// dist/cjs, so both `import` and `require` work, as napi-rs packages do.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// The addon's generated types (index.d.ts) as src-ts/native/addon-types.ts.
execFileSync(process.execPath, [join(root, 'scripts/binding-types.mjs')], { stdio: 'inherit' });
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
// The ESM import path as one chunk (scripts/bundle-esm.mjs).
execFileSync(process.execPath, [join(root, 'scripts/bundle-esm.mjs'), join(root, 'dist/esm')], { stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.cjs.json')], { stdio: 'inherit' });
mkdirSync(join(root, 'dist/cjs'), { recursive: true });
writeFileSync(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');
// `import.meta.url` does not exist in CommonJS: module-url is the one file
// that differs between the two builds.
writeFileSync(
  join(root, 'dist/cjs/module-url.js'),
  '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n' +
    'exports.moduleUrl = require("node:url").pathToFileURL(__filename).href;\n',
);
