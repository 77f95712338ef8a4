// Installs mimobox-wasm the way a user gets it from the registry, and uses it.
//
// 1. Copy the package sources to a staging dir and build the TypeScript there
//    (so a concurrent rebuild of the checkout's dist/ cannot interfere).
// 2. Do what the release job does: put the binaries into npm/<platform>/ (the
//    locally built one for this host, placeholders for the rest) and run
//    `napi prepublish --skip-optional-publish`, which validates the platform
//    packages and adds them to optionalDependencies.
// 3. `npm pack` the main package and this host's platform package.
// 4. Project A installs both tarballs (offline; the other platforms' optional
//    dependencies are skipped), then imports the package from ESM and from
//    CommonJS and runs a guest on the native backend, and runs the CLI.
// 5. Project B installs only the main tarball with MIMOBOX_SKIP_NATIVE_BUILD=1:
//    the install script prints the pure-JS notice and succeeds, and the
//    package runs guests on the pure-JS backend.
//
// Needs the native addon built for this host (mimobox-wasm.<platform>.node in
// the checkout) and `node scripts/build-ts.mjs` (for dist/esm/native/addon.js).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { platformSuffix } from '../../dist/esm/native/addon.js';
import { requiredUnderCi } from '../ci-guard.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SUFFIX = platformSuffix();
const BINARY = join(ROOT, `mimobox-wasm.${SUFFIX}.node`);
const HELLO = join(ROOT, 'test', 'guests', 'wat', 'hello.wasm');
const NAPI_CLI = join(ROOT, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
const HAVE_BINARY = existsSync(BINARY);
requiredUnderCi(HAVE_BINARY, `pack.test.ts: no native addon at ${BINARY} (run npm install)`);
const ROOT_PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  napi: { targets: string[] };
  dependencies?: Record<string, string>;
};
/** Not copied into the staging dir: never part of the published package, or rebuilt there. */
const NOT_STAGED = new Set(['node_modules', 'dist', 'target', '.git', '.github', '.ci', '.cache', 'test', 'bench', 'examples', 'docs']);

let work = '';
let env: NodeJS.ProcessEnv = {};
let mainTarball = '';
let platformTarball = '';
/** The runtime dependencies, packed from the checkout: installed beside the package, offline. */
let dependencyTarballs: string[] = [];
const timings: Record<string, number> = {};

interface Out {
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Out> {
  return new Promise((done, fail) => {
    execFile(
      cmd,
      args,
      { cwd, env: { ...env, ...extraEnv }, maxBuffer: 64 * 1024 * 1024, shell: process.platform === 'win32' && (cmd === 'npm' || cmd.endsWith('.cmd')) },
      (error, stdout, stderr) => {
        if (error) fail(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`));
        else done({ stdout, stderr });
      },
    );
  });
}

/**
 * The package's runtime dependencies and theirs (ajv), packed from the checkout's node_modules:
 * the installs below are offline with an empty private cache, so the registry is never asked.
 */
async function packDependencies(dest: string): Promise<string[]> {
  const names = new Set<string>();
  const todo = Object.keys(ROOT_PKG.dependencies ?? {});
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (names.has(name)) continue;
    names.add(name);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    todo.push(...Object.keys(manifest.dependencies ?? {}));
  }
  const out: string[] = [];
  for (const name of names) {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest, join(ROOT, 'node_modules', name)], dest);
    out.push(join(dest, (JSON.parse(stdout) as { filename: string }[])[0]!.filename));
  }
  return out;
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - start;
  }
}

function newProject(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  return dir;
}

/** The CommonJS probe: runs hello on `backend`, reports output and the addon file that was loaded. */
const CJS_PROBE = `
const { createSandbox } = require('mimobox-wasm');
const sb = createSandbox({}, { backend: process.argv[1] });
sb.execute([process.argv[2]]).then(async (r) => {
  await sb.destroy();
  const addons = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
  console.log(JSON.stringify({ stdout: r.stdout.toString(), exitCode: r.exitCode, backend: r.backend, warnings: r.warnings, addons }));
});`;

const ESM_PROBE = `
import { createRequire } from 'node:module';
import { createSandbox, SandboxError } from 'mimobox-wasm';
const sb = createSandbox({}, { backend: process.argv[1] });
const r = await sb.execute([process.argv[2]]);
await sb.destroy();
const addons = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.endsWith('.node'));
console.log(JSON.stringify({ stdout: r.stdout.toString(), exitCode: r.exitCode, backend: r.backend, warnings: r.warnings, addons, typed: typeof SandboxError }));`;

interface Probe {
  stdout: string;
  exitCode: number;
  backend: string;
  warnings: string[];
  addons: string[];
  typed?: string;
}

async function probe(cwd: string, kind: 'esm' | 'cjs', backend: string): Promise<Probe> {
  const args = kind === 'esm' ? ['--input-type=module', '-e', ESM_PROBE] : ['-e', CJS_PROBE];
  const { stdout } = await run(process.execPath, [...args, backend, HELLO], cwd);
  return JSON.parse(stdout) as Probe;
}

describe.skipIf(!HAVE_BINARY)(`published shape (npm pack + install, ${SUFFIX})`, () => {
  beforeAll(async () => {
    const start = Date.now();
    work = mkdtempSync(join(tmpdir(), 'mimobox-pack-'));
    const { MIMOBOX_NATIVE_PATH: _drop, MIMOBOX_LOG: _log, ...inherited } = process.env;
    env = {
      ...inherited,
      npm_config_cache: join(work, 'npm-cache'),
      npm_config_update_notifier: 'false',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      // Never start a cargo build from a test, whatever happens.
      MIMOBOX_SKIP_NATIVE_BUILD: '1',
    };

    // 1. Stage and build.
    const stage = join(work, 'stage');
    mkdirSync(stage);
    for (const entry of readdirSync(ROOT)) {
      if (NOT_STAGED.has(entry) || entry.endsWith('.node') || entry.endsWith('.tgz')) continue;
      cpSync(join(ROOT, entry), join(stage, entry), { recursive: true, filter: (src) => !src.endsWith('.node') });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'junction');
    await timed('build-ts', () => run(process.execPath, [join(stage, 'scripts', 'build-ts.mjs')], stage));

    // 2. Binaries into npm/<platform>/, then napi prepublish (no publishing, no GitHub release).
    for (const dir of readdirSync(join(stage, 'npm'))) {
      const file = join(stage, 'npm', dir, `mimobox-wasm.${dir}.node`);
      if (dir === SUFFIX) cpSync(BINARY, file);
      else writeFileSync(file, `placeholder for ${dir}\n`);
    }
    await timed('napi-prepublish', () =>
      run(process.execPath, [NAPI_CLI, 'prepublish', '-t', 'npm', '--skip-optional-publish', '--no-gh-release'], stage),
    );

    // 3. Pack.
    const tarballs = join(work, 'tarballs');
    mkdirSync(tarballs);
    await timed('pack', async () => {
      await run('npm', ['pack', '--ignore-scripts', '--pack-destination', tarballs], stage);
      await run('npm', ['pack', '--ignore-scripts', '--pack-destination', tarballs], join(stage, 'npm', SUFFIX));
      dependencyTarballs = await packDependencies(tarballs);
    });
    mainTarball = join(tarballs, `mimobox-wasm-${ROOT_PKG.version}.tgz`);
    platformTarball = join(tarballs, `mimobox-wasm-${SUFFIX}-${ROOT_PKG.version}.tgz`);
    timings.setup = Date.now() - start;
  }, 180_000);

  afterAll(() => {
    if (Object.keys(timings).length > 0) console.log(`pack test timings (ms): ${JSON.stringify(timings)}`);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the tarball holds the built package, sources for a source build, and no binaries or tests', async () => {
    const { stdout } = await run('tar', ['-tzf', mainTarball], work);
    const files = stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of [
      'package.json',
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
      'dist/esm/cli/main.js',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/package.json',
      'dist/cjs/module-url.js',
      'bin/mimobox.js',
      'scripts/install.mjs',
      'index.d.ts',
      'src-rs/lib.rs',
      'Cargo.toml',
      'Cargo.lock',
      'build.rs',
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.endsWith('.node') || f.startsWith('test/') || f.startsWith('npm/') || f.startsWith('node_modules/'))).toEqual([]);
  });

  test('napi prepublish wired the seven platform packages as optionalDependencies at the package version', async () => {
    const { stdout } = await run('tar', ['-xzOf', mainTarball, 'package/package.json'], work);
    const manifest = JSON.parse(stdout) as { optionalDependencies?: Record<string, string>; bin?: Record<string, string> };
    const expected = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64', 'win32-x64-msvc'];
    expect(Object.keys(manifest.optionalDependencies ?? {}).sort()).toEqual(expected.map((s) => `mimobox-wasm-${s}`).sort());
    for (const v of Object.values(manifest.optionalDependencies ?? {})) expect(v).toBe(ROOT_PKG.version);
    expect(manifest.bin?.mimobox?.replace(/^\.\//, '')).toBe('bin/mimobox.js');

    const plat = await run('tar', ['-tzf', platformTarball], work);
    expect(plat.stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['package/README.md', `package/mimobox-wasm.${SUFFIX}.node`, 'package/package.json'].sort(),
    );
  });

  test('both packed manifests carry the repository npm provenance is checked against', async () => {
    const main = JSON.parse((await run('tar', ['-xzOf', mainTarball, 'package/package.json'], work)).stdout) as Record<string, unknown>;
    const plat = JSON.parse((await run('tar', ['-xzOf', platformTarball, 'package/package.json'], work)).stdout) as Record<string, unknown>;
    expect(main.repository).toEqual({ type: 'git', url: 'git+https://github.com/mimobox/mimobox-wasm.git' });
    for (const field of ['repository', 'homepage', 'bugs']) expect(plat[field], field).toEqual(main[field]);
  });

  test('project with the platform package: ESM and CommonJS run a guest on the native backend; the CLI works', async () => {
    const project = newProject('consumer-native');
    const install = await timed('install-native', () =>
      run('npm', ['install', '--offline', '--foreground-scripts', mainTarball, platformTarball, ...dependencyTarballs], project),
    );
    // The install script stays quiet when the prebuilt binary is there.
    expect(install.stdout + install.stderr).not.toMatch(/pure-JS backend|building from source/);
    const installed = join(project, 'node_modules');
    expect(existsSync(join(installed, `mimobox-wasm-${SUFFIX}`, `mimobox-wasm.${SUFFIX}.node`))).toBe(true);
    // Only this platform's package: the other optional dependencies were skipped.
    expect(readdirSync(installed).filter((n) => n.startsWith('mimobox-wasm')).sort()).toEqual(['mimobox-wasm', `mimobox-wasm-${SUFFIX}`]);
    for (const types of ['dist/esm/index.d.ts', 'dist/cjs/index.d.ts']) expect(existsSync(join(installed, 'mimobox-wasm', types))).toBe(true);

    const addon = join(installed, `mimobox-wasm-${SUFFIX}`, `mimobox-wasm.${SUFFIX}.node`);
    for (const kind of ['esm', 'cjs'] as const) {
      const r = await probe(project, kind, 'native');
      expect(r, kind).toMatchObject({ stdout: 'hello, world\n', exitCode: 0, backend: 'native', warnings: [] });
      // Loaded from the platform package, not from the checkout.
      expect(r.addons, kind).toEqual([addon]);
      if (kind === 'esm') expect(r.typed).toBe('function');
    }
    const auto = await probe(project, 'cjs', 'auto');
    expect(auto.backend).toBe('native');

    const bin = join(installed, '.bin', process.platform === 'win32' ? 'mimobox.cmd' : 'mimobox');
    const cli = await run(bin, ['run', HELLO], project);
    expect(cli).toEqual({ stdout: 'hello, world\n', stderr: '' });
    expect((await run(bin, ['--version'], project)).stdout).toBe(`${ROOT_PKG.version}\n`);
  }, 120_000);

  test('project without a prebuilt binary (MIMOBOX_SKIP_NATIVE_BUILD=1): notice, exit 0, pure-JS backend', async () => {
    const project = newProject('consumer-js');
    const install = await timed('install-js', () =>
      run('npm', ['install', '--offline', '--foreground-scripts', mainTarball, ...dependencyTarballs], project, { MIMOBOX_SKIP_NATIVE_BUILD: '1' }),
    );
    expect(install.stdout + install.stderr).toMatch(
      new RegExp(`mimobox-wasm: no prebuilt native binary for ${SUFFIX} \\(mimobox-wasm-${SUFFIX} is not installed\\) and MIMOBOX_SKIP_NATIVE_BUILD=1.*pure-JS backend`),
    );
    expect(existsSync(join(project, 'node_modules', `mimobox-wasm-${SUFFIX}`))).toBe(false);

    for (const kind of ['esm', 'cjs'] as const) {
      const r = await probe(project, kind, 'auto');
      expect(r, kind).toMatchObject({ stdout: 'hello, world\n', exitCode: 0, backend: 'js' });
      expect(r.warnings.join('\n'), kind).toMatch(new RegExp(`native backend unavailable.*mimobox-wasm-${SUFFIX}: not installed`));
    }
    const native = await run(
      process.execPath,
      ['-e', "try { require('mimobox-wasm').createSandbox({}, { backend: 'native' }) } catch (e) { console.log(e.code + '\\n' + e.message) }"],
      project,
    );
    expect(native.stdout).toMatch(/^NATIVE_UNAVAILABLE\n/);
    expect(native.stdout).toContain(`mimobox-wasm-${SUFFIX}: not installed`);
    expect(native.stdout).toMatch(new RegExp(`node_modules[/\\\\]mimobox-wasm[/\\\\]mimobox-wasm\\.${SUFFIX}\\.node: not found`));
  }, 120_000);
});
