// End-to-end tests of the `mimobox` CLI: each runs bin/mimobox.js as a child
// process, as a user's shell would. Run `node scripts/build-ts.mjs` first.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mimobox.js');
const GUESTS = join(ROOT, 'test', 'guests');
const wat = (name: string) => join(GUESTS, 'wat', `${name}.wasm`);
const c = (name: string) => join(GUESTS, 'c', `${name}.wasm`);

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mimobox-cli-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  out: string;
  err: string;
}

interface CliOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  cwd?: string;
  bin?: string;
  /** Called with the child once it is spawned (to send it signals). */
  onSpawn?: (pid: number) => void;
  /** Leave the child's stdin open (as execFile does) instead of ending it. */
  keepStdinOpen?: boolean;
}

function cli(args: string[], opts: CliOptions = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const env: Record<string, string | undefined> = { ...process.env, MIMOBOX_LOG: undefined, ...opts.env };
    const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', fail);
    child.stdin.on('error', () => undefined);
    if (opts.keepStdinOpen) child.stdin.write(opts.input ?? '');
    else child.stdin.end(opts.input ?? '');
    if (opts.onSpawn && child.pid) opts.onSpawn(child.pid);
    child.on('exit', () => child.stdin.destroy());
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out);
      done({ code, signal, stdout, out: stdout.toString(), err: Buffer.concat(err).toString() });
    });
  });
}

describe('help and usage', () => {
  test.each([
    [['--help'], /Usage: mimobox <command>/],
    [['help'], /Usage: mimobox <command>/],
    [['run', '--help'], /Usage: mimobox run \[options\] FILE\.wasm/],
    [['help', 'run'], /Usage: mimobox run/],
    [['bench', '--help'], /Usage: mimobox bench/],
    [['cache', '--help'], /Usage: mimobox cache/],
    [['cache', 'stats', '-h'], /Usage: mimobox cache/],
  ])('%j prints help on stdout, exit 0', async (args, pattern) => {
    const r = await cli(args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(pattern);
    expect(r.err).toBe('');
  });

  test('run --help documents the exit codes', async () => {
    const r = await cli(['run', '--help']);
    for (const code of ['124', '134', '137', '127', '126', '125', '255']) expect(r.out).toContain(code);
  });

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${version}\n`);
  });

  test.each([
    [[], /Usage: mimobox/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['help', 'nope'], /unknown command "nope"/],
    [['run'], /run: missing FILE\.wasm/],
    [['run', '--bogus', wat('hello')], /unknown option '--bogus'.*after "--"/],
    [['run', '--timeout', '5q', wat('hello')], /--timeout: expected a duration/],
    [['run', '--timeout'], /--timeout/],
    [['run', '--memory', '1.5M', wat('hello')], /--memory: must be a whole number of MiB/],
    [['run', '--max-output', 'lots', wat('hello')], /--max-output: expected a size/],
    [['run', '--max-output', '1G', wat('hello')], /maxOutputBytes: must be at most/],
    [['run', '--fuel', '-3', wat('hello')], /--fuel/],
    [['run', '--backend', 'gpu', wat('hello')], /--backend: must be native, js or auto/],
    [['run', '--env', '=x', wat('hello')], /--env/],
    [['run', '--dir', '/definitely/not/here', wat('hello')], /does not exist/],
    [['run', '--json', '--bogus', wat('hello')], /unknown option/],
    [['cache'], /cache: missing subcommand/],
    [['cache', 'purge'], /cache: unknown subcommand "purge"/],
    [['cache', 'path', 'extra'], /unexpected argument "extra"/],
  ])('%j: message on stderr, nothing on stdout, exit 2', async (args, pattern) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(pattern);
    expect(r.err).toMatch(/^(mimobox: |Usage)/);
  });
});

describe.each(['native', 'js'] as const)('run on the %s backend', (backend) => {
  const run = (args: string[], opts?: CliOptions) => cli(['run', '--backend', backend, ...args], opts);

  test('hello: only the guest output on stdout, exit 0', async () => {
    const r = await run([wat('hello')]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('hello, world\n');
    expect(r.err).toBe('');
  });

  test('the guest exit code becomes ours; > 255 is clamped to 255', async () => {
    expect((await run([c('exit_code'), '7'])).code).toBe(7);
    expect((await run([c('exit_code'), '0'])).code).toBe(0);
    const big = await run([wat('exit_big')]);
    expect(big.code).toBe(255);
    expect(big.err).toMatch(/exited with 256, reported as 255/);
  });

  test('arguments after FILE (and after --) and --env reach the guest', async () => {
    const r = await run(['--env', 'A=1', '--env', 'B=x=y', c('args_env'), 'plain', '--', '-x', '--y']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`argv[0]=${c('args_env')}\nargv[1]=plain\nargv[2]=-x\nargv[3]=--y\n`);
    expect(r.out).toContain('env:A=1\n');
    expect(r.out).toContain('env:B=x=y\n');
  });

  test('--env K copies the host value', async () => {
    const r = await run(['--env', 'MIMOBOX_CLI_TEST', c('args_env')], { env: { MIMOBOX_CLI_TEST: 'from-host' } });
    expect(r.out).toContain('env:MIMOBOX_CLI_TEST=from-host\n');
  });

  test('--stdin - passes our stdin, --stdin FILE reads a file', async () => {
    const piped = await run(['--stdin', '-', c('echo_stdin')], { input: 'piped data\n' });
    expect(piped.out).toBe('piped data\n');
    const dir = tempDir();
    writeFileSync(join(dir, 'in.txt'), 'from a file');
    const file = await run(['--stdin', join(dir, 'in.txt'), c('echo_stdin')], { input: 'ignored' });
    expect(file.out).toBe('from a file');
    const missing = await run(['--stdin', join(dir, 'nope'), c('echo_stdin')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--stdin: cannot read/);
  });

  test.skipIf(process.platform === 'win32')('a shell pipe or redirect is passed without flags', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'in.txt'), 'redirected');
    const cmd = `"${process.execPath}" "${BIN}" run --backend ${backend} "${c('echo_stdin')}"`;
    const sh = (script: string) =>
      new Promise<string>((done, fail) => {
        const child = spawn('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        const out: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.on('error', fail);
        child.on('close', () => done(Buffer.concat(out).toString()));
      });
    expect(await sh(`printf 'through a pipe' | ${cmd}`)).toBe('through a pipe');
    expect(await sh(`${cmd} < "${join(dir, 'in.txt')}"`)).toBe('redirected');
    expect(await sh(`${cmd} < /dev/null`)).toBe('');
  });

  test('an open, never-ended stdin socket (execFile) is not waited for', async () => {
    const r = await run([c('echo_stdin')], { input: 'not read', keepStdinOpen: true });
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
  });

  test('guest stderr goes to stderr', async () => {
    const r = await run([c('fileops'), 'read', '/nonexistent/file']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^error: /);
  });

  test('--timeout: exit 124 and a note on stderr', async () => {
    const started = Date.now();
    const r = await run(['--timeout', '300ms', wat('loop')]);
    expect(r.code).toBe(124);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^mimobox: timed out/m);
    // Generous: a CLI start plus the 300 ms limit; without the limit the loop never ends.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('traps exit 134; an out-of-bounds access is a trap, not a memory limit', async () => {
    const unreachable = await run([wat('unreachable')]);
    expect(unreachable.code).toBe(134);
    expect(unreachable.err).toMatch(/^mimobox: trap \(unreachable\)/m);
    expect((await run([wat('div_zero')])).code).toBe(134);
    const oob = await run([wat('oob')]);
    expect(oob.code).toBe(134);
    expect(oob.err).toMatch(/trap \(memory\)/);
  });

  test('--memory: hitting the limit exits 137', async () => {
    const grow = await run(['--memory', '16M', wat('memory_grow')]);
    expect(grow.code).toBe(137);
    expect(grow.err).toMatch(/^mimobox: memory limit exceeded/m);
    expect((await run(['--memory', '64M', wat('big_min_memory')])).code).toBe(137);
    expect((await run(['--memory', '256M', wat('big_min_memory')])).code).toBe(0);
  });

  test('--max-output caps stdout and says so on stderr', async () => {
    const r = await run(['--max-output', '1K', c('output_flood'), '5000']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(1024);
    expect(r.out.slice(0, 26)).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(r.err).toMatch(/stdout was cut at the --max-output cap \(the program wrote 5000 bytes\)/);
  });

  test('--dir is writable, --ro-dir is not, HOST:GUEST maps the path', async () => {
    const rw = tempDir();
    const ro = tempDir();
    writeFileSync(join(ro, 'in.txt'), 'read me');
    const write = await run(['--dir', `${rw}:/out`, c('fileops'), 'write', '/out/a.txt', 'written']);
    expect(write.code).toBe(0);
    expect(readFileSync(join(rw, 'a.txt'), 'utf8')).toBe('written');
    const read = await run(['--ro-dir', `${ro}:/in`, c('fileops'), 'read', '/in/in.txt']);
    expect(read.out).toBe('read me');
    const denied = await run(['--ro-dir', `${ro}:/in`, c('fileops'), 'write', '/in/b.txt', 'x']);
    expect(denied.code).toBe(1);
    expect(existsSync(join(ro, 'b.txt'))).toBe(false);
    const samePath = await run(['--ro-dir', ro, c('fileops'), 'read', join(ro, 'in.txt')]);
    expect(samePath.out).toBe('read me');
  });

  test('--json prints the whole result and nothing else', async () => {
    const r = await run(['--json', wat('hello')]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const result = JSON.parse(r.out) as Record<string, unknown>;
    expect(result).toMatchObject({
      stdout: 'hello, world\n',
      stdoutEncoding: 'utf8',
      stderr: '',
      exitCode: 0,
      timedOut: false,
      stdoutTruncated: false,
      stdoutBytes: 13,
      warnings: [],
      backend,
      exitStatus: 0,
    });
    expect(typeof result.elapsedMs).toBe('number');
  });

  test('--json: binary output as base64; timeouts keep their exit code', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    const bin = JSON.parse((await run(['--json', '--stdin', '-', c('echo_stdin')], { input: bytes })).out) as Record<string, string>;
    expect(bin.stdoutEncoding).toBe('base64');
    expect(Buffer.from(bin.stdout!, 'base64').equals(bytes)).toBe(true);
    const loop = await run(['--json', '--timeout', '200ms', wat('loop')]);
    expect(loop.code).toBe(124);
    expect(JSON.parse(loop.out)).toMatchObject({ timedOut: true, exitCode: null, exitStatus: 124 });
  });

  test('module problems: 127 when missing, 126 when not runnable', async () => {
    const missing = await run([join(GUESTS, 'nope.wasm')]);
    expect(missing.code).toBe(127);
    expect(missing.err).toMatch(/^mimobox: .*not found/);
    expect((await run([join(GUESTS, 'c', 'exit_code.c')])).code).toBe(126);
    expect((await run([wat('no_entry')])).code).toBe(126);
    expect((await run([wat('import_missing')])).code).toBe(126);
    const json = await run(['--json', wat('no_entry')]);
    expect(json.code).toBe(126);
    expect(JSON.parse(json.out)).toMatchObject({ error: { code: 'NO_ENTRY' }, exitStatus: 126 });
    // --invoke: a reactor's named export (after _initialize); its i32 is the exit code.
    expect(await run(['--invoke', 'run', wat('reactor')])).toMatchObject({ code: 7, out: 'ran\n' });
    const nope = await run(['--json', '--invoke', 'nope', wat('reactor')]);
    expect(JSON.parse(nope.out)).toMatchObject({ error: { code: 'NO_ENTRY', message: expect.stringContaining('"nope"') }, exitStatus: 126 });
    // --trap-unknown-imports: the module runs and traps at the call (134), naming the import.
    const trapped = await run(['--trap-unknown-imports', wat('unknown_import')]);
    expect(trapped.code).toBe(134);
    expect(trapped.out).toBe('before\n');
    expect(trapped.err).toContain('env.foo');
    expect((await run([wat('unknown_import')])).code).toBe(126);
  });

  test.skipIf(process.platform === 'win32')('SIGINT stops the guest: exit 130', async () => {
    const r = await run(['--timeout', '60s', c('sleep'), '30'], {
      onSpawn: (pid) => setTimeout(() => process.kill(pid, 'SIGINT'), 1500),
    });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(130);
  });
});

describe('run: backend selection', () => {
  test('--fuel N is exact on the native backend', async () => {
    const r = await cli(['run', '--backend', 'native', '--fuel', '1000', wat('loop')]);
    expect(r.code).toBe(124);
    const ok = await cli(['run', '--backend', 'native', '--fuel', 'off', wat('hello')]);
    expect(ok.out).toBe('hello, world\n');
  });

  test('--backend native without the addon: exit 125 with what was tried', async () => {
    const r = await cli(['run', '--backend', 'native', wat('hello')], { env: { MIMOBOX_NATIVE_PATH: '/nonexistent/x.node' } });
    expect(r.code).toBe(125);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/could not be loaded\. Tried:\n {2}\/nonexistent\/x\.node: not found/);
  });

  test('default (auto) falls back to the pure-JS backend with a warning on stderr only', async () => {
    const r = await cli(['run', wat('hello')], { env: { MIMOBOX_NATIVE_PATH: '/nonexistent/x.node' } });
    expect(r.code).toBe(0);
    expect(r.out).toBe('hello, world\n');
    expect(r.err).toMatch(/^mimobox: warning: native backend unavailable, using the pure-JS backend/);
  });
});

describe('cache', () => {
  test('path, stats and clear with the native addon', async () => {
    const dir = tempDir();
    const env = { MIMOBOX_CACHE_DIR: dir };
    expect((await cli(['cache', 'path'], { env })).out).toBe(`${dir}\n`);
    const empty = JSON.parse((await cli(['cache', 'stats', '--json'], { env })).out) as { files: number };
    expect(empty).toEqual({ path: dir, files: 0, bytes: 0 });
    expect((await cli(['run', '--backend', 'native', wat('hello')], { env })).code).toBe(0);
    const stats = await cli(['cache', 'stats'], { env });
    expect(stats.code).toBe(0);
    expect(stats.out).toMatch(new RegExp(`^path: ${dir}\nfiles: 1\nbytes: [1-9]\\d* \\(`));
    const cleared = await cli(['cache', 'clear'], { env });
    expect(cleared.out).toBe(`removed 1 compiled module(s) from ${dir}\n`);
    expect(JSON.parse((await cli(['cache', 'stats', '--json'], { env })).out)).toMatchObject({ files: 0 });
  });

  test('--cache-dir overrides the environment; relative paths resolve against the cwd', async () => {
    const dir = tempDir();
    const r = await cli(['cache', 'path', '--cache-dir', 'sub'], { cwd: dir, env: { MIMOBOX_CACHE_DIR: '/elsewhere' } });
    expect(r.out).toBe(`${join(dir, 'sub')}\n`);
  });

  test('works without the native addon (default dir computed in TS)', async () => {
    const home = tempDir();
    const noNative = { MIMOBOX_NATIVE_PATH: '/nonexistent/x.node', MIMOBOX_CACHE_DIR: undefined };
    const viaHome = await cli(['cache', 'path'], { env: { ...noNative, XDG_CACHE_HOME: undefined, HOME: home } });
    expect(viaHome.out).toBe(`${join(home, '.cache', 'mimobox')}\n`);
    const viaXdg = await cli(['cache', 'path'], { env: { ...noNative, XDG_CACHE_HOME: join(home, 'xdg') } });
    expect(viaXdg.out).toBe(`${join(home, 'xdg', 'mimobox')}\n`);

    const root = join(home, 'xdg', 'mimobox');
    mkdirSync(join(root, 'wasmtime-48.0.0-abc'), { recursive: true });
    writeFileSync(join(root, 'wasmtime-48.0.0-abc', 'a.cwasm'), Buffer.alloc(1000));
    writeFileSync(join(root, 'wasmtime-48.0.0-abc', 'b.cwasm'), Buffer.alloc(24));
    writeFileSync(join(root, 'wasmtime-48.0.0-abc', 'notes.txt'), 'not counted');
    writeFileSync(join(root, 'stray.cwasm'), 'not under wasmtime-*');
    const env = { ...noNative, XDG_CACHE_HOME: join(home, 'xdg') };
    expect(JSON.parse((await cli(['cache', 'stats', '--json'], { env })).out)).toEqual({ path: root, files: 2, bytes: 1024 });
    expect(JSON.parse((await cli(['cache', 'clear', '--json'], { env })).out)).toEqual({ path: root, removed: 2 });
    expect(existsSync(join(root, 'wasmtime-48.0.0-abc', 'notes.txt'))).toBe(true);
    expect(JSON.parse((await cli(['cache', 'stats', '--json'], { env })).out)).toMatchObject({ files: 0, bytes: 0 });
  });

  test('no HOME and no cache variables: exit 1 with a message', async () => {
    const r = await cli(['cache', 'path'], {
      env: { MIMOBOX_NATIVE_PATH: '/nonexistent/x.node', MIMOBOX_CACHE_DIR: undefined, XDG_CACHE_HOME: undefined, HOME: undefined },
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no cache directory/);
  });
});

/** A copy of the package (bin + dist), so the real bench/ is neither needed nor touched. */
function packageCopy(): string {
  const pkg = tempDir();
  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'mimobox-wasm', version: '0.0.0-test', type: 'module' }));
  return pkg;
}

describe('bench', () => {
  test('without bench/run.mjs: a clear message and exit 2', async () => {
    // An installed package has no bench/: a copy without one stands for it.
    const r = await cli(['bench'], { bin: join(packageCopy(), 'bin', 'mimobox.js') });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/no benchmark harness in this installation: .*bench[/\\]run\.mjs does not exist/);
  });

  test('with bench/run.mjs: spawns it with the remaining arguments and returns its exit code', async () => {
    // A stub harness in a copy of the package.
    const pkg = packageCopy();
    mkdirSync(join(pkg, 'bench'));
    writeFileSync(
      join(pkg, 'bench', 'run.mjs'),
      'console.log(JSON.stringify(process.argv.slice(2))); process.exit(Number(process.env.BENCH_EXIT ?? 0));\n',
    );
    const bin = join(pkg, 'bin', 'mimobox.js');
    const r = await cli(['bench', '--quick', 'x'], { bin, env: { BENCH_EXIT: '3' } });
    expect(r.out).toBe('["--quick","x"]\n');
    expect(r.code).toBe(3);
    const dashed = await cli(['bench', '--', '--help'], { bin });
    expect(dashed.out).toBe('["--help"]\n');
    expect(dashed.code).toBe(0);
  });
});
