// npm's install hook. In a development checkout it builds the native addon
// (napi build --release) and the TypeScript. For a user installing the
// published package it checks for the prebuilt platform binary, builds from
// source when Rust is available and none fits, and otherwise says that the
// pure-JS backend will be used. It never fails the install for a missing
// native binary: the package still works on the JS backend.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function platformSuffix() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const glibc = process.report?.getReport()?.header?.glibcVersionRuntime;
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

const suffix = platformSuffix();
const binaryName = `mimobox-wasm.${suffix}.node`;
const isDevCheckout = existsSync(join(root, '.git')) || existsSync(join(root, 'tsconfig.json'));
const hasCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;

function run(cmd, args) {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
}

/**
 * Said before any source build: compiling wasmtime takes minutes, and an
 * install that goes quiet that long looks hung. (npm shows a dependency's
 * install output only with --foreground-scripts; a checkout's own, always.)
 */
function announceSourceBuild(why) {
  console.log(`mimobox-wasm: ${why}; building the native addon from source with cargo now (a release build: a few minutes the first time)`);
}

if (isDevCheckout) {
  if (process.env.MIMOBOX_SKIP_NATIVE_BUILD === '1') {
    console.log('mimobox-wasm: MIMOBOX_SKIP_NATIVE_BUILD=1, not building the native addon');
  } else if (!hasCargo) {
    console.warn('mimobox-wasm: cargo not found: the native addon is not built; only the pure-JS backend will work');
  } else {
    // @napi-rs/cli's `exports` hide dist/cli.js from require.resolve: use its file directly.
    const napiCli = join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
    announceSourceBuild('development checkout');
    // `test-hooks`: a host function that panics, for the panic-containment test;
    // published binaries (release.yml: npm run build:native) never have it.
    run(process.execPath, [napiCli, 'build', '--platform', '--release', '--no-js', '--dts', 'index.d.ts', '--features', 'test-hooks']);
  }
  run(process.execPath, [join(root, 'scripts/build-ts.mjs')]);
  process.exit(0);
}

// Installed as a dependency: the prebuilt binary normally arrives as the
// optional dependency mimobox-wasm-<platform> (added to package.json at
// publish time by `napi prepublish`).
const platformPackage = `mimobox-wasm-${suffix}`;
let prebuilt = false;
try {
  require.resolve(platformPackage);
  prebuilt = true;
} catch {
  prebuilt = existsSync(join(root, binaryName));
}
if (prebuilt || process.env.MIMOBOX_NATIVE_PATH) process.exit(0);

const jsNotice =
  "createSandbox() will use the pure-JS backend (backend: 'auto' falls back to it; backend: 'native' fails).";
if (process.env.MIMOBOX_SKIP_NATIVE_BUILD === '1') {
  console.warn(
    `mimobox-wasm: no prebuilt native binary for ${suffix} (${platformPackage} is not installed) and ` +
      `MIMOBOX_SKIP_NATIVE_BUILD=1, so no source build: ${jsNotice}`,
  );
  process.exit(0);
}
if (hasCargo && existsSync(join(root, 'Cargo.toml'))) {
  announceSourceBuild(`no prebuilt binary for ${suffix}`);
  try {
    run('cargo', ['build', '--release', '--locked']);
    const target = process.env.CARGO_TARGET_DIR || join(root, 'target');
    const lib = { darwin: 'libmimobox_wasm.dylib', win32: 'mimobox_wasm.dll' }[process.platform] ?? 'libmimobox_wasm.so';
    copyFileSync(join(target, 'release', lib), join(root, binaryName));
    process.exit(0);
  } catch (e) {
    console.warn(`mimobox-wasm: building from source failed (${e.message}): ${jsNotice}`);
    process.exit(0);
  }
}
console.warn(
  `mimobox-wasm: no prebuilt native binary for ${suffix} (${platformPackage} is not installed) and no Rust ` +
    `toolchain to build one: ${jsNotice} Install Rust (https://rustup.rs) and reinstall for the faster native backend.`,
);
