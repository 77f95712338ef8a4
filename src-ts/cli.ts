// The `mimobox` command line (bin/mimobox.js runs main()). `run` executes one
// WASI program in a sandbox and behaves like the program itself: its stdout
// and stderr go to ours, its exit code becomes ours. Everything mimobox says
// on its own goes to stderr, prefixed "mimobox:".
import { spawn } from 'node:child_process';
import { existsSync, fstatSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  defaultCacheDir,
  EXIT,
  exitCodeFor,
  formatBytes,
  parseDirSpec,
  parseDuration,
  parseEnvSpec,
  parseFuel,
  parseMemoryMb,
  parseWholeUnits,
  parseSize,
  UsageError,
} from './cli-parse.js';
import { SandboxError } from './errors.js';
import { createSandbox, type Backend } from './factory.js';
import { loadNativeBinding, packageRoot, type NativeBinding } from './native.js';
import type { Sandbox, SandboxConfig, SandboxResult } from './types.js';

const MAIN_HELP = `Usage: mimobox <command> [options]

Run untrusted WebAssembly (WASI preview 1) programs in a sandbox.

Commands:
  run FILE.wasm [-- ARGS...]   run a program with limits on time, memory, output and files
  bench [ARGS...]              run the benchmark harness (bench/run.mjs)
  cache {path,clear,stats}     inspect or clear the compiled-module cache
  worker [--redis URL] ...     run sandbox jobs from a BullMQ queue on Redis
  python [options]             a Python REPL in a sandbox (one session, state kept)
  help [COMMAND]               show help for a command

Options:
  -h, --help      show this help
  -v, --version   print the mimobox-wasm version

Run 'mimobox <command> --help' for a command's options.
`;

const RUN_HELP = `Usage: mimobox run [options] FILE.wasm [-- ARGS...]

Runs FILE.wasm (a WASI preview 1 program) in a sandbox. The program's stdout
goes to stdout and its stderr to stderr, nothing else is written to stdout;
mimobox's own messages go to stderr, prefixed "mimobox:". Arguments after
FILE (put them after "--" when they start with "-") are passed to the program,
whose argv[0] is FILE. Stdin is passed to the program when it is a pipe or a
file (cmd | mimobox run ..., < file); use --stdin - to pass it in other cases
(e.g. when spawned from Node's child_process, whose stdio are sockets).

Options:
  --timeout DURATION   wall-clock limit, e.g. 300ms, 5s, 2m, 1h; bare number = seconds
                       (default 30s)
  --memory SIZE        linear-memory limit, e.g. 64M, 1G; bare number = MiB; whole MiB only
                       (default 64M)
  --fuel N|off         native backend: exact instruction budget (deterministic), or off;
                       default: derived from the timeout
  --dir HOST[:GUEST]   give read-write access to directory HOST, seen by the program as
                       GUEST (default: HOST's absolute path); repeatable
  --ro-dir HOST[:GUEST]  the same, read-only; repeatable
  --env K=V            set an environment variable (K alone copies the host's value);
                       repeatable
  --max-output SIZE    cap on captured stdout and on stderr, each, e.g. 64K, 1M; bare
                       number = bytes (default 1M, at most 64M)
  --stdin FILE|-       read the program's stdin from FILE, or from ours with "-" (read to
                       its end before the program starts)
  --invoke NAME        call the exported function NAME instead of _start/main (a WASI
                       reactor: _initialize runs first); an i32 it returns is the exit code
  --stack SIZE         deepest wasm stack, e.g. 1M, 8M; bare number = KiB (default 512K)
  --max-module SIZE    largest module accepted, e.g. 512M; bare number = MiB (default 256M)
  --trap-unknown-imports  link function imports the sandbox does not provide as traps
                       (the program fails only if it calls one), instead of refusing it
  --backend BACKEND    native, js or auto (default auto: native, else the pure-JS backend)
  --json               print the whole result as JSON on stdout instead of the program's
                       output (stdout/stderr as UTF-8 text, or base64 when not valid UTF-8)
  -h, --help           show this help

Exit status:
  N     the program's exit code; codes above 255 (WASI allows them) become 255
  124   the program ran past --timeout or used up its --fuel budget (as timeout(1))
  134   the program trapped (unreachable, stack overflow, division by zero,
        out-of-bounds memory access, ...): 128 + SIGABRT
  137   the program hit the --memory limit: 128 + SIGKILL, as an OOM kill
  130   interrupted (SIGINT); 143 on SIGTERM
  127   FILE does not exist
  126   FILE cannot run (not WebAssembly, too large, no _start/main, unknown import)
  125   mimobox itself failed (native addon unavailable with --backend native, ...)
  2     bad usage
A program may exit with any of these codes itself; --json tells them apart.
`;

const BENCH_HELP = `Usage: mimobox bench [ARGS...]

Runs the benchmark harness: node <package>/bench/run.mjs ARGS... (its own
options: mimobox bench -- --help). Exits with the harness's exit code, or 2
when this installation has no benchmark harness.
`;

const CACHE_HELP = `Usage: mimobox cache <path|clear|stats> [--cache-dir DIR] [--json]

The native backend keeps compiled modules (.cwasm) in a per-user cache:
$MIMOBOX_CACHE_DIR, else $XDG_CACHE_HOME/mimobox, else ~/.cache/mimobox
(Windows: %LOCALAPPDATA%\\mimobox\\cache).

  path    print the cache directory
  stats   number of compiled modules and their total size
  clear   delete the compiled modules

Options:
  --cache-dir DIR   use DIR instead of the default (as SandboxConfig.cacheDir)
  --json            machine-readable output (stats, clear)
  -h, --help        show this help
`;

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function write(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  if (data.length === 0) return Promise.resolve();
  return new Promise((done) => {
    // Errors (EPIPE when the reader went away) are ignored: nobody is listening.
    stream.write(data, () => done());
  });
}

class CliFailure extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function usage(err: UsageError | string, command?: string): CliFailure {
  const message = typeof err === 'string' ? err : err.message;
  const hint = command ? `Try 'mimobox ${command} --help'.` : "Try 'mimobox --help'.";
  return new CliFailure(`${message}\n${hint}`, EXIT.usage);
}

/** Runs util.parseArgs so that its errors become usage errors. */
function parse<T>(fn: () => T, command: string): T {
  try {
    return fn();
  } catch (e) {
    let message = (e as Error).message;
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    if (unknown) {
      message = `unknown option '${unknown[1]}'`;
      if (command === 'run') message += ' (put the program\'s own arguments after "--": mimobox run FILE.wasm -- ARGS...)';
    }
    throw usage(message, command);
  }
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case 'run':
        return await runCommand(rest, io);
      case 'bench':
        return await benchCommand(rest, io);
      case 'cache':
        return await cacheCommand(rest, io);
      case 'worker':
        // Loaded on demand: only this command loads BullMQ.
        return await (await import('./cli-worker.js')).workerCommand(rest, io);
      case 'python':
        return await (await import('./cli-python.js')).pythonCommand(rest, io);
      case 'help': {
        const topic = rest[0];
        const text = topic === 'run' ? RUN_HELP : topic === 'bench' ? BENCH_HELP : topic === 'cache' ? CACHE_HELP
          : topic === 'worker' ? (await import('./cli-worker.js')).WORKER_HELP
          : topic === 'python' ? (await import('./cli-python.js')).PYTHON_HELP : undefined;
        if (topic !== undefined && text === undefined) throw usage(`unknown command ${JSON.stringify(topic)}`);
        await write(io.stdout, text ?? MAIN_HELP);
        return 0;
      }
      case '-h':
      case '--help':
        await write(io.stdout, MAIN_HELP);
        return 0;
      case '-v':
      case '--version':
        await write(io.stdout, `${version()}\n`);
        return 0;
      case undefined:
        await write(io.stderr, MAIN_HELP);
        return EXIT.usage;
      default:
        throw usage(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    if (e instanceof CliFailure) {
      await write(io.stderr, `mimobox: ${e.message}\n`);
      return e.code;
    }
    if (e instanceof UsageError) {
      await write(io.stderr, `mimobox: ${usage(e).message}\n`);
      return EXIT.usage;
    }
    await write(io.stderr, `mimobox: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.internal;
  }
}

// ---------------------------------------------------------------- run

const RUN_OPTIONS = {
  timeout: { type: 'string' },
  memory: { type: 'string' },
  fuel: { type: 'string' },
  dir: { type: 'string', multiple: true },
  'ro-dir': { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  'max-output': { type: 'string' },
  stdin: { type: 'string' },
  invoke: { type: 'string' },
  stack: { type: 'string' },
  'max-module': { type: 'string' },
  'trap-unknown-imports': { type: 'boolean' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The exit code for an error thrown by createSandbox() or execute(). */
function exitCodeForError(e: SandboxError): number {
  switch (e.code) {
    case 'CONFIG_INVALID':
    case 'COMMAND_INVALID':
    case 'DIR_NOT_FOUND':
      return EXIT.usage;
    case 'MODULE_NOT_FOUND':
      return EXIT.notFound;
    case 'MODULE_INVALID':
    case 'MODULE_TOO_LARGE':
    case 'NO_ENTRY':
    case 'IMPORT_MISSING':
      return EXIT.notRunnable;
    case 'ABORTED':
      return EXIT.sigint;
    default:
      return EXIT.internal;
  }
}

/**
 * The guest's stdin. The sandbox takes stdin as bytes up front, so reading ours means waiting
 * for its end: done for a shell pipe or a redirected file (`cmd | mimobox run`, `< file`), not
 * for a terminal, /dev/null or a socket (how Node's child_process connects stdio, often left
 * open), where waiting could hang. `--stdin -` reads ours in every case, `--stdin FILE` a file.
 */
async function readStdin(spec: string | undefined): Promise<Uint8Array> {
  if (spec !== undefined && spec !== '-') {
    try {
      return readFileSync(spec);
    } catch (e) {
      throw usage(`--stdin: cannot read ${spec}: ${(e as Error).message}`, 'run');
    }
  }
  if (spec === undefined && !stdinIsPipeOrFile()) return new Uint8Array(0);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function stdinIsPipeOrFile(): boolean {
  if (process.platform === 'win32') return !process.stdin.isTTY;
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile();
  } catch {
    return false; // no fd 0 at all
  }
}

function encodeOutput(buf: Buffer): { text: string; encoding: 'utf8' | 'base64' } {
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? { text, encoding: 'utf8' } : { text: buf.toString('base64'), encoding: 'base64' };
}

/** The SandboxResult as JSON, with stdout/stderr as text and the CLI's exit code added. */
export function resultToJson(result: SandboxResult, exitStatus: number): Record<string, unknown> {
  const out = encodeOutput(result.stdout);
  const err = encodeOutput(result.stderr);
  return {
    ...result,
    stdout: out.text,
    stdoutEncoding: out.encoding,
    stderr: err.text,
    stderrEncoding: err.encoding,
    exitStatus,
  };
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1]!.trim();
}

async function runCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(() => parseArgs({ args, options: RUN_OPTIONS, allowPositionals: true, strict: true }), 'run');
  if (values.help) {
    await write(io.stdout, RUN_HELP);
    return 0;
  }
  if (positionals.length === 0) throw usage('run: missing FILE.wasm', 'run');

  const config: SandboxConfig = {};
  try {
    if (values.timeout !== undefined) config.timeoutMs = parseDuration(values.timeout, '--timeout');
    if (values.memory !== undefined) config.memoryLimitMb = parseMemoryMb(values.memory);
    if (values.fuel !== undefined) config.fuel = parseFuel(values.fuel);
    if (values['max-output'] !== undefined) config.maxOutputBytes = parseSize(values['max-output'], '--max-output', 'B');
    if (values.dir) config.fsReadwrite = values.dir.map((d) => parseDirSpec(d, '--dir'));
    if (values['ro-dir']) config.fsReadonly = values['ro-dir'].map((d) => parseDirSpec(d, '--ro-dir'));
    if (values.env) config.env = Object.fromEntries(values.env.map((e) => parseEnvSpec(e)));
    if (values.stack !== undefined) config.stackLimitKb = parseWholeUnits(values.stack, '--stack', 'K');
    if (values['max-module'] !== undefined) config.maxModuleMb = parseWholeUnits(values['max-module'], '--max-module', 'M');
    if (values['trap-unknown-imports']) config.unknownImports = 'trap';
    if (values.invoke !== undefined && values.invoke.length === 0) throw new UsageError('--invoke: expected an export name');
  } catch (e) {
    if (e instanceof UsageError) throw usage(e, 'run');
    throw e;
  }
  const backend = (values.backend ?? 'auto') as Backend;
  if (!['native', 'js', 'auto'].includes(backend)) {
    throw usage(`--backend: must be native, js or auto, got ${JSON.stringify(values.backend)}`, 'run');
  }
  const stdin = await readStdin(values.stdin);

  let sandbox: Sandbox;
  try {
    sandbox = createSandbox(config, { backend });
  } catch (e) {
    return failWith(e, io, values.json === true);
  }

  const controller = new AbortController();
  let signalExit: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signalExit = signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint;
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const entry = values.invoke !== undefined ? { entry: values.invoke } : {};
    const result = await sandbox.execute(positionals, { stdin, signal: controller.signal, ...entry });
    const status = exitCodeFor(result);
    if (values.json) {
      await write(io.stdout, `${JSON.stringify(resultToJson(result, status), null, 2)}\n`);
      return status;
    }
    await Promise.all([write(io.stdout, result.stdout), write(io.stderr, result.stderr)]);
    const notes: string[] = result.warnings.map((w) => `warning: ${w}`);
    for (const [name, truncated, total] of [
      ['stdout', result.stdoutTruncated, result.stdoutBytes],
      ['stderr', result.stderrTruncated, result.stderrBytes],
    ] as const) {
      if (truncated) notes.push(`warning: ${name} was cut at the --max-output cap (the program wrote ${total} bytes)`);
    }
    if (result.timedOut) notes.push(`timed out: ${lastLine(result.error ?? 'time limit reached')}`);
    else if (status === EXIT.memoryLimit) {
      notes.push(`memory limit exceeded: ${lastLine(result.error ?? '').replace(/^memory limit( exceeded)?:\s*/i, '')}`);
    }
    else if (result.trap) notes.push(`trap (${result.trap}): ${lastLine(result.error ?? '')}`);
    else if (result.exitCode !== null && status !== result.exitCode) {
      notes.push(`the program exited with ${result.exitCode}, reported as ${status}`);
    }
    if (notes.length > 0) await write(io.stderr, notes.map((n) => `mimobox: ${n}\n`).join(''));
    return status;
  } catch (e) {
    if (signalExit !== undefined && e instanceof SandboxError && e.code === 'ABORTED') {
      await write(io.stderr, `mimobox: ${e.message}\n`);
      return signalExit;
    }
    return failWith(e, io, values.json === true);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sandbox.destroy().catch(() => undefined);
  }
}

async function failWith(e: unknown, io: Io, json: boolean): Promise<number> {
  if (!(e instanceof SandboxError)) throw e;
  const status = exitCodeForError(e);
  if (json) {
    await write(io.stdout, `${JSON.stringify({ error: { code: e.code, message: e.message }, exitStatus: status }, null, 2)}\n`);
  }
  const hint = status === EXIT.usage ? "\nTry 'mimobox run --help'." : '';
  await write(io.stderr, `mimobox: ${e.message}${hint}\n`);
  return status;
}

// ---------------------------------------------------------------- bench

async function benchCommand(args: string[], io: Io): Promise<number> {
  if (args[0] === '-h' || args[0] === '--help') {
    await write(io.stdout, BENCH_HELP);
    return 0;
  }
  const forwarded = args[0] === '--' ? args.slice(1) : args;
  const script = join(packageRoot(), 'bench', 'run.mjs');
  if (!existsSync(script)) {
    await write(
      io.stderr,
      `mimobox: bench: no benchmark harness in this installation: ${script} does not exist ` +
        '(the harness is part of the source repository, not of the published package)\n',
    );
    return EXIT.usage;
  }
  return await new Promise<number>((done) => {
    const child = spawn(process.execPath, [script, ...forwarded], { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const finish = (code: number) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      done(code);
    };
    child.on('error', (e) => {
      void write(io.stderr, `mimobox: bench: cannot start ${script}: ${e.message}\n`).then(() => finish(EXIT.internal));
    });
    child.on('exit', (code, signal) => finish(code ?? (signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint)));
  });
}

// ---------------------------------------------------------------- cache

const CACHE_OPTIONS = {
  'cache-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function tryNative(): NativeBinding | undefined {
  try {
    return loadNativeBinding();
  } catch {
    return undefined;
  }
}

export interface CacheStats {
  path: string;
  files: number;
  bytes: number;
}

/** Counts .cwasm files and their bytes under the root's wasmtime-* directories. */
export function cacheStats(root: string): CacheStats {
  let files = 0;
  let bytes = 0;
  for (const sub of safeReaddir(root)) {
    const dir = join(root, sub);
    if (!sub.startsWith('wasmtime-') || !isDir(dir)) continue;
    for (const name of safeReaddir(dir)) {
      if (!name.endsWith('.cwasm')) continue;
      try {
        const st = statSync(join(dir, name));
        if (!st.isFile()) continue;
        files++;
        bytes += st.size;
      } catch {
        /* removed meanwhile */
      }
    }
  }
  return { path: root, files, bytes };
}

/** What src-rs/cache.rs clear_cache does, for hosts without the native addon. */
function clearCacheTs(root: string): number {
  let removed = 0;
  for (const sub of safeReaddir(root)) {
    const dir = join(root, sub);
    if (!sub.startsWith('wasmtime-') || !isDir(dir)) continue;
    for (const name of safeReaddir(dir)) {
      // The artefacts with their records, locks and index entries; counted as modules.
      if (name.startsWith('.tmp-') || /\.(cwasm|meta|fp|lock)$/.test(name)) {
        rmSync(join(dir, name), { force: true });
        if (name.endsWith('.cwasm')) removed++;
      }
    }
    try {
      rmSync(dir); // only when empty, as the native version
    } catch {
      /* not empty */
    }
  }
  return removed;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function cacheCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
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

  const native = tryNative();
  const root = native ? native.cacheDirFor(dir ?? null) : defaultCacheDir(dir);
  if (!root) {
    await write(io.stderr, 'mimobox: no cache directory: set MIMOBOX_CACHE_DIR or HOME, or pass --cache-dir\n');
    return 1;
  }
  if (sub === 'path') {
    await write(io.stdout, `${root}\n`);
    return 0;
  }
  if (sub === 'stats') {
    const stats = cacheStats(root);
    await write(
      io.stdout,
      values.json
        ? `${JSON.stringify(stats)}\n`
        : `path: ${stats.path}\nfiles: ${stats.files}\nbytes: ${stats.bytes} (${formatBytes(stats.bytes)})\n`,
    );
    return 0;
  }
  const removed = native ? native.clearCompiledCache(dir ?? null) : clearCacheTs(root);
  await write(io.stdout, values.json ? `${JSON.stringify({ path: root, removed })}\n` : `removed ${removed} compiled module(s) from ${root}\n`);
  return 0;
}
