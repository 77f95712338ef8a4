// WasmSandbox: the Sandbox contract on the native (wasmtime) backend.
import { resolveConfig, resolveExecuteOptions, validateCommand, validateEntry, type ResolvedConfig } from '../shared/config.js';
import { abortedError, ConfigError, destroyedError, type SandboxError } from '../shared/errors.js';
import { wrapHostCall } from '../shared/host-call.js';
import {
  loadNativeBinding, type NativeBinding, type NativeExecuteRequest, type NativeModule, type NativeResult, type NativeSandbox,
  type NativeLogLine, type NativeSession,
} from './addon.js';
// Const enums of the generated types: tsc writes their string values in place.
import { FuelModeKind, UnknownImportsMode } from './addon-types.js';
import { ManagedSession, type SessionDriver } from './session.js';
import { resolveSessionOptions } from '../shared/session-options.js';
import { fromNativeError } from './errors.js';
import { buildResult } from '../shared/result.js';
import type { ExecuteOptions, Sandbox, SandboxConfig, SandboxResult, Session, SessionOptions } from '../shared/types.js';

import { builtin } from '../shared/node-floor.js';

// A built-in through getBuiltinModule, not `import` (why: native/addon.ts).
const { availableParallelism } = builtin('node:os');

let nextExecutionId = 1;

/** The addon's error, typed; DESTROYED in the words of errors.ts, which both backends share. */
function nativeError(e: unknown): SandboxError {
  const err = fromNativeError(e);
  return err.code === 'DESTROYED' ? destroyedError() : err;
}
/**
 * Executes of this process whose callers have not had their results yet. An execute that
 * finishes inline resolves at once, so the native side never sees the others of a busy server:
 * this count does. An inline start saves the hand-off to a worker only when nothing else is in
 * flight; beside other executes it would run them one after another on this thread, where the
 * workers run them side by side.
 */
let awaitedExecutes = 0;

export class WasmSandbox implements Sandbox {
  readonly backend = 'native' as const;
  private readonly config: ResolvedConfig;
  private readonly native: NativeSandbox;
  private destroyed = false;
  private readonly sessions = new Set<ManagedSession>();
  /** Loads under way: each rejects DESTROYED when the sandbox is destroyed (unlessDestroyed). */
  private readonly pendingLoads = new Set<() => void>();

  constructor(config: SandboxConfig = {}) {
    // The addon first: loading it starts building the default engine on a
    // thread of its own, which then overlaps resolving the config. A bad
    // config still outranks a missing addon, as it did.
    let binding: NativeBinding | undefined;
    let unavailable: unknown;
    try {
      binding = loadNativeBinding();
    } catch (e) {
      unavailable = e;
    }
    this.config = resolveConfig(config, availableParallelism());
    if (binding === undefined) throw unavailable;
    const c = this.config;
    this.native = new binding.NativeSandbox({
      memoryLimitBytes: c.memoryLimitBytes,
      timeoutMs: c.timeoutMs,
      fuelMode: c.fuel === null ? FuelModeKind.Off : FuelModeKind.Exact,
      ...(typeof c.fuel === 'number' ? { fuel: c.fuel } : {}),
      readonlyDirs: c.readonlyDirs,
      readwriteDirs: c.readwriteDirs,
      maxOutputBytes: c.maxOutputBytes,
      cache: c.cache,
      ...(c.cacheDir !== undefined ? { cacheDir: c.cacheDir } : {}),
      maxConcurrency: c.maxConcurrency,
      ...(c.queueTimeoutMs !== undefined ? { queueTimeoutMs: c.queueTimeoutMs } : {}),
      ...(c.poolInstances !== undefined ? { poolInstances: c.poolInstances } : {}),
      inline: c.inline,
      stackLimitBytes: c.stackLimitBytes,
      maxModuleBytes: c.maxModuleBytes,
      unknownImports: c.unknownImports === 'trap' ? UnknownImportsMode.Trap : UnknownImportsMode.Error,
    });
    if (c.hostCall !== undefined) this.native.setHostCall(wrapHostCall(c.hostCall));
  }

  async execute(cmd: string[], opts: ExecuteOptions = {}): Promise<SandboxResult> {
    this.assertLive();
    const { path, args } = validateCommand(cmd);
    return this.runNative(args, opts, (request) => this.native.execute({ ...request, path }));
  }

  /**
   * Compiles (or finds in the cache) a module once, for servers that run one
   * program many times: `handle.run(args)` skips the per-execute path checks,
   * stat and lookup. A Buffer is identified by its SHA-256, never by a path.
   */
  load(source: string | Uint8Array, options: LoadOptions = {}): Promise<ModuleHandle> {
    return this.loadHandle(source, options, false);
  }

  private async loadHandle(source: unknown, options: LoadOptions, forSession: boolean): Promise<NativeModuleHandle> {
    this.assertLive();
    const entry = validateEntry('options.entry', options.entry) ?? null;
    let name: string;
    let loading: Promise<NativeModule>;
    if (typeof source === 'string') {
      name = validateCommand([source]).path;
      loading = this.native.loadModule(source, null, null, entry, forSession);
    } else if (source instanceof Uint8Array) {
      name = options.name ?? 'module.wasm';
      if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) {
        throw new ConfigError('options.name', 'must be a non-empty string without NUL bytes');
      }
      loading = this.native.loadModule(null, source, name, entry, forSession);
    } else {
      throw new ConfigError('source', 'must be a module path or a Buffer/Uint8Array of module bytes');
    }
    let module: NativeModule;
    try {
      module = await this.unlessDestroyed(loading);
    } catch (e) {
      throw nativeError(e);
    }
    this.emitLog(module.log);
    return new NativeModuleHandle(this, module, name, entry ?? undefined);
  }

  /** @internal Runs a loaded module; argv[0] is the handle's name. */
  async runLoaded(module: NativeModule, name: string, args: string[], opts: ExecuteOptions): Promise<SandboxResult> {
    this.assertLive();
    if (!Array.isArray(args)) throw new ConfigError('args', 'must be an array of strings');
    const argv = validateCommand([name, ...args]).args;
    return this.runNative(argv, opts, (request) => this.native.executeLoaded(module, { ...request, path: name }));
  }

  private assertLive(): void {
    if (this.destroyed) throw destroyedError();
  }

  private async runNative(
    args: string[],
    opts: ExecuteOptions,
    invoke: (request: Omit<NativeExecuteRequest, 'path'>) => NativeResult | Promise<NativeResult>,
  ): Promise<SandboxResult> {
    const { env, stdin, signal, entry } = resolveExecuteOptions(opts, this.config.env);
    const executionId = nextExecutionId++;
    const onAbort = () => this.native.cancel(executionId);
    signal?.addEventListener('abort', onAbort, { once: true });
    const startInline = awaitedExecutes === 0;
    awaitedExecutes++;
    try {
      const raw = await invoke({
        args,
        env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        stdin,
        executionId,
        startInline,
        ...(entry !== undefined ? { entry } : {}),
      });
      this.emitLog(raw.log);
      return buildResult(raw, this.config.warnings, 'native');
    } catch (e) {
      const err = nativeError(e);
      // The signal's reason is known here only: the abort's words are written on this side too.
      if (err.code === 'ABORTED' && signal?.aborted) throw abortedError('execute', signal.reason);
      throw err;
    } finally {
      awaitedExecutes--;
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Instantiates a module once and keeps it for `session.call`s (see `Session`). `module` is a path,
   * bytes, or a handle from `load` (the fastest: nothing is looked up again).
   */
  async openSession(module: string | Uint8Array | ModuleHandle, options: SessionOptions = {}): Promise<Session> {
    this.assertLive();
    // The sandbox's own hostCall is bound in the addon already: pass only a session's own.
    const o = resolveSessionOptions(options, this.config.env, undefined);
    const handle = module instanceof NativeModuleHandle ? module : await this.loadHandle(module, {}, true);
    if (handle.owner !== this) throw new ConfigError('module', 'this module was loaded by another sandbox: load it with this one');
    const openId = nextExecutionId++;
    let native: NativeSession;
    try {
      native = await this.native.openSession(
        handle.native,
        { args: validateCommand([handle.name, ...o.args]).args, env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`), executionId: openId },
        o.hostCall === undefined ? null : wrapHostCall(o.hostCall),
      );
    } catch (e) {
      throw nativeError(e);
    }
    const driver: SessionDriver = {
      call: async (exportName, call, executionId) => {
        let raw: NativeResult;
        try {
          raw = await native.call(this.native, {
            export: exportName,
            executionId,
            timeoutMs: call.timeoutMs,
            ...(call.input !== undefined ? { input: call.input, alloc: call.alloc } : {}),
            ...(call.fuel !== undefined ? { fuel: call.fuel } : {}),
          });
        } catch (e) {
          throw nativeError(e);
        }
        const ended = raw.sessionEnded;
        return {
          result: buildResult(raw, this.config.warnings, 'native'),
          returnValue: raw.returnValue ?? null,
          ...(ended === 'timeout' || ended === 'trap' || ended === 'exit' ? { sessionEnded: ended } : {}),
        };
      },
      cancel: (executionId) => this.native.cancel(executionId),
      close: (shutdown, budgetMs) => native.close(shutdown ?? null, budgetMs).catch((e: unknown) => {
        throw nativeError(e);
      }),
    };
    const session = new ManagedSession(
      driver,
      { idleMs: o.idleMs, lifetimeMs: o.lifetimeMs, defaultTimeoutMs: this.config.timeoutMs },
      (s) => this.sessions.delete(s),
    );
    this.sessions.add(session);
    return session;
  }

  /**
   * A load's result, or DESTROYED at once when the sandbox is destroyed first: a compile cannot
   * be stopped (it finishes on its own thread, bounded by src-rs/bounds.rs), but no caller waits
   * for it past destroy().
   */
  private unlessDestroyed<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stop = (): void => reject(destroyedError());
      this.pendingLoads.add(stop);
      work.then(resolve, reject).finally(() => this.pendingLoads.delete(stop));
    });
  }

  /** Stops running executes (they reject with code DESTROYED) and frees the sandbox. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const stop of this.pendingLoads) stop();
    this.pendingLoads.clear();
    const ending = [...this.sessions].map((s) => s.end('destroyed').catch(() => undefined));
    await this.native.destroy();
    await Promise.all(ending);
  }

  private emitLog(lines: NativeLogLine[]): void {
    const logger = this.config.logger;
    if (!logger) return;
    for (const { level, message } of lines) logger(level, message);
  }
}

/** Options of `WasmSandbox.load`. */
export interface LoadOptions {
  /** argv[0] for a module given as bytes. Default `module.wasm`. */
  name?: string;
  /**
   * The export each run calls unless its own options name another (WASI reactors: `_initialize`
   * runs first). Checked at load: a missing or wrongly typed one is `NO_ENTRY`.
   */
  entry?: string;
}

/** A module loaded once with `WasmSandbox.load`, run many times. */
export interface ModuleHandle {
  /** Hex SHA-256 of the module bytes. */
  readonly hash: string;
  /** argv[0] for every run: the path, or the name given for a Buffer. */
  readonly name: string;
  run(args?: string[], opts?: ExecuteOptions): Promise<SandboxResult>;
}

class NativeModuleHandle implements ModuleHandle {
  readonly hash: string;
  constructor(
    private readonly sandbox: WasmSandbox,
    private readonly module: NativeModule,
    readonly name: string,
    private readonly entry: string | undefined,
  ) {
    this.hash = module.hash;
  }

  /** @internal */
  get owner(): WasmSandbox {
    return this.sandbox;
  }

  /** @internal */
  get native(): NativeModule {
    return this.module;
  }

  run(args: string[] = [], opts: ExecuteOptions = {}): Promise<SandboxResult> {
    const withEntry = this.entry !== undefined && opts?.entry === undefined ? { ...opts, entry: this.entry } : opts;
    return this.sandbox.runLoaded(this.module, this.name, args, withEntry);
  }
}
