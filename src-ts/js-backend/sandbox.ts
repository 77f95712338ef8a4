// JsSandbox: the Sandbox contract on V8's WebAssembly with a WASI preview 1
// written in TypeScript (wasi.ts), each guest in a worker thread (pool.ts).
import { realpathSync } from 'node:fs';
import { resolve as absolutePath } from 'node:path';
import { availableParallelism } from 'node:os';
import { resolveConfig, resolveExecuteOptions, validateCommand, type ResolvedConfig } from '../shared/config.js';
import { abortedError, ConfigError, destroyedError, SessionEndedError } from '../shared/errors.js';
import { resolveSessionOptions } from '../shared/session-options.js';
import { moduleUrl } from '../module-url.js';
import { checkFitsBudget, reserveMemory } from '../shared/memory-budget.js';
import { buildResult } from '../shared/result.js';
import type { ExecuteOptions, Sandbox, SandboxConfig, SandboxResult, Session, SessionOptions } from '../shared/types.js';
import type { Preopen } from './wasi/fs.js';
import { planEntry, planImports, type EntryPlan, type LinkPlan } from './module/linking.js';
import { loadModule, loadModuleBytes, type LoadedModule, type LoadLimits } from './module/module-cache.js';
import { JsSession } from './session.js';
import { WorkerPool } from './threads/pool.js';
import { HostDoor } from './threads/host-door.js';
import { hasHostAlloc, withFaults } from './session-plan.js';

export interface JsSandboxOptions {
  /** Added to every result's warnings (the factory's fallback notice). */
  extraWarnings?: string[];
}

/** argv[0] of a session opened from the module's bytes (there is no path to show). */
export const BYTES_ARGV0 = 'module.wasm';

export class JsSandbox implements Sandbox {
  readonly backend = 'js' as const;
  private readonly config: ResolvedConfig;
  private readonly warnings: string[];
  private readonly preopens: Preopen[];
  private readonly pool: WorkerPool;
  private readonly limits: LoadLimits;
  private readonly fuel: number | undefined;
  private destroyed = false;
  /** Open sessions (and opening ones), ended by destroy(). */
  private readonly sessions = new Set<JsSession>();
  /** Settles once the latest execute has joined the pool's queue. */
  private enqueued: Promise<void> = Promise.resolve();

  constructor(config: SandboxConfig = {}, options: JsSandboxOptions = {}) {
    this.config = resolveConfig(config, availableParallelism());
    // Only an exact budget meters (fuel: N), as on native: otherwise the timeout, which
    // terminates the worker, bounds the guest, and metering would slow every loop.
    this.fuel = typeof this.config.fuel === 'number' ? this.config.fuel : undefined;
    this.limits = {
      memoryLimitBytes: this.config.memoryLimitBytes, maxModuleBytes: this.config.maxModuleBytes, metered: this.fuel !== undefined,
    };
    const c = config as Record<string, unknown>;
    this.warnings = [...this.config.warnings];
    if (c.cacheDir !== undefined) {
      this.warnings.push('cacheDir is ignored by the pure-JS backend: it keeps compiled modules in memory only');
    }
    this.warnings.push(...(options.extraWarnings ?? []));
    // Real roots: a symlinked host dir (macOS /tmp) must not make every path look "outside".
    this.preopens = [
      ...this.config.readonlyDirs.map((d) => ({ root: realpathSync(d.host), guest: d.guest, readonly: true })),
      ...this.config.readwriteDirs.map((d) => ({ root: realpathSync(d.host), guest: d.guest, readonly: false })),
    ];
    // Each running execute reserves its memory cap from the process budget (memory-budget.ts).
    const capBytes = this.config.memoryLimitBytes;
    this.pool = new WorkerPool(
      this.config.maxConcurrency, this.config.maxOutputBytes, new URL('js-backend/threads/worker.js', moduleUrl),
      (timeoutMs, signal) => reserveMemory(capBytes, { timeoutMs, signal }),
    );
  }

  async execute(cmd: string[], opts: ExecuteOptions = {}): Promise<SandboxResult> {
    if (this.destroyed) throw destroyedError();
    const { path, args } = validateCommand(cmd);
    const { env, stdin, signal, entry } = resolveExecuteOptions(opts, this.config.env);
    // A cap over the whole process budget could never run: fail now, not after queueing.
    checkFitsBudget(this.config.memoryLimitBytes);

    const started = performance.now();
    // Executes join the sandbox's queue in call order: one whose module is
    // already compiled must not overtake an earlier one still compiling.
    const previous = this.enqueued;
    let enqueue!: () => void;
    this.enqueued = new Promise<void>((resolve) => (enqueue = resolve));
    let loaded: LoadedModule;
    let linked: LinkPlan & EntryPlan;
    try {
      loaded = await loadModule(path, this.limits, this.config.logger);
      // What to link and call, from the import and export lists, before anything is instantiated.
      const where = absolutePath(path);
      linked = { ...planImports(loaded.imports, this.config.unknownImports, where), ...planEntry(loaded.functions, entry, where) };
      await previous;
    } catch (e) {
      await previous;
      enqueue();
      throw e;
    }
    if (this.destroyed || signal?.aborted || loaded.refusal !== undefined) enqueue();
    if (this.destroyed) throw destroyedError();
    if (signal?.aborted) throw abortedError('execute', signal.reason);
    if (loaded.refusal !== undefined) {
      return buildResult({
        stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 1, timedOut: false, trap: 'memory', limit: 'memory',
        error: loaded.refusal, elapsedMs: performance.now() - started, stdoutTruncated: false,
        stderrTruncated: false, stdoutBytes: 0, stderrBytes: 0, fuelConsumed: this.fuel === undefined ? null : 0,
      }, this.warnings, 'js');
    }
    // host.call gets a door only when the module imports it and there is a hostCall to serve it.
    const door = linked.hostCall && this.config.hostCall ? new HostDoor(this.config.hostCall) : undefined;
    const running = this.pool.run(
      {
        module: loaded.module, entry: linked.entry, initialize: linked.initialize, traps: linked.traps, args,
        hostAlloc: hasHostAlloc(loaded.functions),
        ...(this.fuel === undefined ? {} : { fuel: this.fuel }),
        env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        stdin: new Uint8Array(stdin), preopens: this.preopens, memoryLimitBytes: this.config.memoryLimitBytes,
      },
      { timeoutMs: this.config.timeoutMs, signal, queueTimeoutMs: this.config.queueTimeoutMs, door },
    );
    enqueue(); // pool.run queued it synchronously
    let r;
    try {
      r = await running;
    } finally {
      door?.close();
    }
    const o = r.outcome;
    const fuelOut = o.fuelExhausted === true;
    return withFaults(buildResult({
      stdout: r.stdout.bytes, stderr: r.stderr.bytes, exitCode: o.exitCode, timedOut: r.timedOut || fuelOut,
      trap: o.trap ?? null, elapsedMs: r.elapsedMs, fuelConsumed: o.fuelConsumed ?? null,
      limit: fuelOut ? 'fuel' : r.timedOut ? 'wall_clock' : o.limit ?? null,
      // Native's words: src-rs/run.rs.
      error: fuelOut ? `fuel budget exhausted after ${r.elapsedMs.toFixed(0)} ms` : o.error ?? o.linkError ?? null,
      stdoutTruncated: r.stdout.truncated, stderrTruncated: r.stderr.truncated,
      stdoutBytes: r.stdout.total, stderrBytes: r.stderr.total,
    }, this.warnings, 'js'), r.hostCallFaults);
  }

  /**
   * One instance kept alive in a worker thread of its own (session.ts). The session holds its memory
   * cap from the process budget until it ends; its thread is outside the executes' shared pool.
   */
  async openSession(module: string | Uint8Array, options?: SessionOptions): Promise<Session> {
    if (this.destroyed) throw destroyedError();
    const resolved = resolveSessionOptions(options, this.config.env, this.config.hostCall);
    let loaded: LoadedModule;
    let where: string;
    if (typeof module === 'string') {
      if (module.length === 0 || module.includes('\0')) throw new ConfigError('module', 'must be a non-empty path without NUL bytes, or the module\'s bytes');
      where = absolutePath(module);
      loaded = await loadModule(module, this.limits, this.config.logger);
    } else if (module instanceof Uint8Array) {
      where = '<module bytes>';
      loaded = await loadModuleBytes(module, this.limits, this.config.logger);
    } else {
      throw new ConfigError('module', 'must be a path or the module\'s bytes (Uint8Array)');
    }
    if (loaded.refusal !== undefined) throw new SessionEndedError('error', `the session could not open: ${loaded.refusal}`);
    const plan = planImports(loaded.imports, this.config.unknownImports, where);
    checkFitsBudget(this.config.memoryLimitBytes);
    const releaseBudget = await reserveMemory(this.config.memoryLimitBytes, { timeoutMs: this.config.queueTimeoutMs, what: 'session open' });
    if (this.destroyed) {
      releaseBudget();
      throw destroyedError();
    }
    let session: JsSession | undefined;
    const opening = JsSession.open({
      loaded, plan, options: resolved, argv0: typeof module === 'string' ? module : BYTES_ARGV0, config: this.config, preopens: this.preopens, fuel: this.fuel,
      warnings: this.warnings, workerUrl: new URL('js-backend/threads/session-worker.js', moduleUrl), releaseBudget,
      onEnd: (s) => this.sessions.delete(s),
    }, (s) => {
      session = s;
      this.sessions.add(s);
    });
    try {
      return await opening;
    } catch (e) {
      if (session) this.sessions.delete(session);
      throw e;
    }
  }

  /** Stops running executes (they reject with code DESTROYED) and frees the workers. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([this.pool.destroy(), ...[...this.sessions].map((s) => s.destroy())]);
  }
}
