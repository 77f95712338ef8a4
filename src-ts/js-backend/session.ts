// A session on the JS backend: one instance kept alive in a worker thread of
// its own (session-worker.ts), called one export at a time, in call order.
// The main thread keeps every bound: each call's deadline and abort (the
// worker is terminated, which ends the session), the idle and lifetime timers
// (unref'd, so an idle session never keeps the process alive), destroy. The
// session's thread is its own (session-threads.ts), outside the executes' pool.
import type { Transferable, Worker } from 'node:worker_threads';
import type { ResolvedConfig } from '../shared/config.js';
import { abortedError, ConfigError, destroyedError, InternalError, SessionEndedError } from '../shared/errors.js';
import { buildResult } from '../shared/result.js';
import { resolveCallOptions, resolveCloseOptions, type ResolvedCallOptions, type ResolvedSessionOptions } from '../shared/session-options.js';
import type { Session, SessionCallOptions, SessionCallResult, SessionCloseOptions, SessionEndReason } from '../shared/types.js';
import type { Preopen } from './wasi/fs.js';
import { HostDoor } from './threads/host-door.js';
import { outputBufferSize, readCaptured } from './wasi/output-capture.js';
import type { LinkPlan } from './module/linking.js';
import type { LoadedModule } from './module/module-cache.js';
import type { SessionCallMessage, SessionOpenMessage, SessionReply } from './threads/protocol.js';
import { checkSessionExport, hasHostAlloc, hasInitialize, withFaults } from './session-plan.js';
import { sessionThread } from './threads/session-threads.js';

export interface SessionSetup {
  loaded: LoadedModule;
  plan: LinkPlan;
  options: ResolvedSessionOptions;
  /** The guest's argv[0]: the module path as given, or BYTES_ARGV0. */
  argv0: string;
  config: ResolvedConfig;
  preopens: Preopen[];
  /** The sandbox's exact fuel budget; undefined: not metered. */
  fuel: number | undefined;
  warnings: string[];
  workerUrl: URL;
  /** Gives the session's memory cap back to the process budget. */
  releaseBudget(): void;
  /** Told once the session has ended and its thread is gone. */
  onEnd(session: JsSession): void;
}

type Stop = 'timeout' | 'lifetime' | 'aborted' | 'destroyed' | 'idle' | 'closed';
type ExchangeEnd = { kind: 'reply'; reply: SessionReply } | { kind: 'stopped'; why: Stop } | { kind: 'died'; reason: string };

interface Exchanging {
  settle(end: ExchangeEnd): void;
}

type Queued =
  | { kind: 'call'; call: ResolvedCallOptions; resolve(r: SessionCallResult): void; reject(e: unknown): void; cleanup(): void }
  | { kind: 'close'; shutdown: string | undefined; budgetMs: number; done(): void };


export class JsSession implements Session {
  private reason: SessionEndReason | null = null;
  private readonly queue: Queued[] = [];
  private busy = false;
  private closing = false;
  private worker: Worker | undefined;
  private current: Exchanging | undefined;
  private readonly door: HostDoor | undefined;
  private readonly output: SharedArrayBuffer;
  private readonly wake = new Int32Array(new SharedArrayBuffer(4));
  private idleTimer: NodeJS.Timeout | undefined;
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;

  private constructor(private readonly s: SessionSetup) {
    this.output = new SharedArrayBuffer(outputBufferSize(s.config.maxOutputBytes));
    this.door = s.plan.hostCall && s.options.hostCall ? new HostDoor(s.options.hostCall) : undefined;
  }

  get ended(): SessionEndReason | null {
    return this.reason;
  }

  /** Starts the thread, instantiates, runs `_initialize` under the sandbox's timeout. */
  static async open(setup: SessionSetup, created: (s: JsSession) => void): Promise<JsSession> {
    const session = new JsSession(setup);
    created(session); // so destroy() reaches a session still opening
    await session.start();
    return session;
  }

  call(exportName: string, options?: SessionCallOptions): Promise<SessionCallResult> {
    try {
      const call = resolveCallOptions(exportName, options);
      if (this.reason !== null) throw new SessionEndedError(this.reason);
      if (this.closing) throw new SessionEndedError('closed', 'the session is closing: open a new one');
      checkSessionExport(this.s.loaded.functions, call.name, call.input !== undefined, call.alloc);
      if (call.fuel !== undefined && this.s.fuel === undefined) {
        throw new ConfigError('options.fuel', 'the JS backend meters fuel only when the sandbox has an exact fuel budget ' +
          '(config fuel: N); give the sandbox one, or use the native backend');
      }
      return new Promise<SessionCallResult>((resolve, reject) => {
        const onAbort = () => {
          // Still queued: it never ran, so the instance is untouched and the session goes on.
          const i = this.queue.indexOf(item);
          if (i >= 0) this.queue.splice(i, 1);
          reject(abortedError('session call', call.signal?.reason, 'session goes on'));
        };
        const item: Queued = { kind: 'call', call, resolve, reject, cleanup: () => call.signal?.removeEventListener('abort', onAbort) };
        call.signal?.addEventListener('abort', onAbort, { once: true });
        this.queue.push(item);
        this.pump();
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async close(options?: SessionCloseOptions): Promise<void> {
    const o = resolveCloseOptions(options);
    if (this.reason !== null) return this.stopped;
    if (this.closing) {
      // Closing already: wait for it.
      await new Promise<void>((resolve) => this.queue.push({ kind: 'close', shutdown: undefined, budgetMs: 0, done: resolve }));
      return this.stopped;
    }
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.queue.push({ kind: 'close', shutdown: o.shutdown, budgetMs: o.budgetMs, done: resolve });
      this.pump();
    });
    return this.stopped;
  }

  /** sandbox.destroy(): a running call rejects with DESTROYED, queued ones too. */
  destroy(): Promise<void> {
    return this.end('destroyed');
  }

  // ---- running -----------------------------------------------------------------

  private async start(): Promise<void> {
    const { loaded, plan, options, config } = this.s;
    let worker: Worker;
    try {
      worker = await sessionThread(this.s.workerUrl);
    } catch (e) {
      await this.end('error');
      throw new InternalError(`the JS backend could not start a worker thread for the session: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (this.reason !== null) {
      // Ended (destroy()) while its thread was starting.
      void worker.terminate();
      throw this.reason === 'destroyed' ? destroyedError() : new SessionEndedError(this.reason);
    }
    this.worker = worker;
    worker.on('message', (r: SessionReply) => {
      if (this.worker === worker) this.current?.settle({ kind: 'reply', reply: r });
    });
    const gone = (reason: string) => {
      if (this.worker !== worker) return;
      if (this.current) this.current.settle({ kind: 'died', reason });
      else void this.end('error');
    };
    worker.on('error', (e) => gone(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => gone(`the worker exited with code ${code}`));
    const message: SessionOpenMessage = {
      type: 'open', module: loaded.module, initialize: hasInitialize(loaded.functions), traps: plan.traps,
      args: [this.s.argv0, ...options.args], env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`), preopens: this.s.preopens,
      memoryLimitBytes: config.memoryLimitBytes, maxOutputBytes: config.maxOutputBytes, output: this.output,
      wake: this.wake.buffer as SharedArrayBuffer, hostAlloc: hasHostAlloc(loaded.functions),
      ...(this.s.fuel === undefined ? {} : { fuel: this.s.fuel }),
      ...(this.door ? { door: this.door.end } : {}),
    };
    const { end } = await this.exchange(message, this.door ? [this.door.end.port] : [], config.timeoutMs, undefined);
    this.door?.takeFaults(); // _initialize's faults have no result to go to
    if (end.kind === 'reply' && !end.reply.ended) {
      if (options.lifetimeMs !== undefined) {
        this.lifetimeTimer = setTimeout(() => void this.end('lifetime'), options.lifetimeMs);
        this.lifetimeTimer.unref();
      }
      this.pump();
      return;
    }
    await this.end(end.kind === 'stopped' ? end.why : 'error');
    if (end.kind === 'stopped' && end.why === 'destroyed') throw destroyedError();
    const why = end.kind === 'died' ? `its worker thread failed (${end.reason})`
      : end.kind === 'stopped' ? `_initialize ran past the ${config.timeoutMs} ms timeout and was stopped`
        : end.reply.linkError ?? (end.reply.fuelExhausted ? `_initialize ran out of fuel (${this.s.fuel})`
          : end.reply.trap ? `_initialize trapped (${end.reply.error ?? end.reply.trap})`
            : `_initialize called proc_exit(${end.reply.exitCode})`);
    throw new SessionEndedError('error', `the session could not open: ${why}`);
  }

  /** Runs the queue's next item when idle; arms the idle timer when there is none. */
  private pump(): void {
    if (this.busy || this.reason !== null || !this.worker || this.current) return;
    const next = this.queue.shift();
    if (!next) {
      this.armIdle();
      return;
    }
    this.busy = true;
    this.clearIdle();
    const running = next.kind === 'call' ? this.runCall(next) : this.runClose(next);
    void running.finally(() => {
      this.busy = false;
      this.pump();
    });
  }

  private async runCall(item: Extract<Queued, { kind: 'call' }>): Promise<void> {
    item.cleanup();
    const { call } = item;
    if (call.signal?.aborted) {
      item.reject(abortedError('session call', call.signal?.reason, 'session goes on'));
      return;
    }
    const timeoutMs = call.timeoutMs ?? this.s.config.timeoutMs;
    const message: SessionCallMessage = { type: 'call', name: call.name, alloc: call.alloc };
    if (call.input !== undefined) message.input = call.input;
    if (this.s.fuel !== undefined) message.fuel = call.fuel ?? this.s.fuel;
    const { end, elapsedMs } = await this.exchange(message, [], timeoutMs, call.signal);
    const endsWith = this.reasonFor(end);
    if (endsWith !== null) await this.end(endsWith);
    if (end.kind === 'stopped' && end.why === 'aborted') return item.reject(abortedError('session call', call.signal?.reason, 'session ended'));
    if (end.kind === 'stopped' && end.why === 'destroyed') return item.reject(destroyedError());
    const r = end.kind === 'reply' ? end.reply : undefined;
    const fuelOut = r?.fuelExhausted === true;
    const stopped = end.kind === 'stopped';
    const error = fuelOut ? `fuel budget exhausted after ${elapsedMs.toFixed(0)} ms`
      : stopped && end.why === 'lifetime' ? `the session reached its ${this.s.options.lifetimeMs} ms lifetime during the call and was stopped`
        : stopped ? `the call ran past the ${timeoutMs} ms timeout and was stopped`
          : end.kind === 'died' ? `the session worker died: ${end.reason}` : r?.error ?? null;
    const stdout = readCaptured(this.output, 0, this.s.config.maxOutputBytes);
    const stderr = readCaptured(this.output, 1, this.s.config.maxOutputBytes);
    const result = buildResult({
      stdout: stdout.bytes, stderr: stderr.bytes, exitCode: r?.exitCode ?? null, timedOut: stopped || fuelOut,
      trap: end.kind === 'died' ? 'other' : r?.trap ?? null, error, elapsedMs, fuelConsumed: r?.fuelConsumed ?? null,
      limit: fuelOut ? 'fuel' : stopped ? 'wall_clock' : r?.limit ?? null,
      stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated, stdoutBytes: stdout.total, stderrBytes: stderr.total,
    }, this.s.warnings, 'js');
    const out: SessionCallResult = { ...withFaults(result, this.door?.takeFaults()), returnValue: r?.returnValue ?? null };
    if (endsWith !== null) out.sessionEnded = endsWith;
    item.resolve(out);
  }

  /** The shutdown export (if any, output dropped) within its budget, then the end. */
  private async runClose(item: Extract<Queued, { kind: 'close' }>): Promise<void> {
    let shutdown = item.shutdown;
    if (shutdown !== undefined) {
      try {
        checkSessionExport(this.s.loaded.functions, shutdown, false, 'host_alloc');
      } catch {
        shutdown = undefined; // "if it exists"
      }
    }
    if (shutdown !== undefined) {
      const message: SessionCallMessage = { type: 'call', name: shutdown, alloc: 'host_alloc' };
      if (this.s.fuel !== undefined) message.fuel = this.s.fuel;
      await this.exchange(message, [], item.budgetMs, undefined);
    }
    await this.end('closed');
    item.done();
  }

  /** Why the session ends after this exchange, or null when it goes on. */
  private reasonFor(end: ExchangeEnd): SessionEndReason | null {
    if (end.kind === 'died') return 'error';
    if (end.kind === 'stopped') return end.why;
    const r = end.reply;
    if (!r.ended) return null;
    if (r.fuelExhausted) return 'timeout';
    if (r.trap !== undefined || r.linkError !== undefined) return 'trap';
    return 'exit';
  }

  /** One message to the worker and its reply, or its stop (deadline, abort, session end). */
  private exchange(message: SessionOpenMessage | SessionCallMessage, transfer: Transferable[], timeoutMs: number,
    signal: AbortSignal | undefined): Promise<{ end: ExchangeEnd; elapsedMs: number }> {
    const worker = this.worker;
    if (!worker || this.reason !== null) return Promise.resolve({ end: { kind: 'stopped', why: 'closed' }, elapsedMs: 0 });
    return new Promise((resolve) => {
      const started = performance.now();
      const onAbort = () => running.settle({ kind: 'stopped', why: 'aborted' });
      const timer = setTimeout(() => running.settle({ kind: 'stopped', why: 'timeout' }), timeoutMs);
      timer.unref(); // the worker is ref'd while it runs
      const running: Exchanging = {
        settle: (end) => {
          if (this.current !== running) return;
          this.current = undefined;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          worker.unref();
          resolve({ end, elapsedMs: performance.now() - started });
        },
      };
      this.current = running;
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.ref();
      try {
        worker.postMessage(message, transfer);
      } catch (e) {
        running.settle({ kind: 'died', reason: e instanceof Error ? e.message : String(e) });
      }
    });
  }

  // ---- ending --------------------------------------------------------------------

  /** Ends the session once (the first reason stays); resolves when its thread is gone. */
  private end(reason: SessionEndReason): Promise<void> {
    if (this.reason === null) {
      this.reason = reason;
      this.clearIdle();
      if (this.lifetimeTimer) clearTimeout(this.lifetimeTimer);
      this.door?.close();
      const worker = this.worker;
      this.worker = undefined;
      // Wake a guest asleep in poll_oneoff, then stop the thread (and a running call with it).
      Atomics.store(this.wake, 0, 1);
      Atomics.notify(this.wake, 0);
      this.current?.settle({ kind: 'stopped', why: reason as Stop });
      // Ref'd until it has exited, so an awaited close() or destroy() keeps the process alive that long.
      // Node closes the files the guest's thread left open as it exits (Worker trackUnmanagedFds).
      worker?.ref();
      this.stopped = (worker ? worker.terminate() : Promise.resolve()).then(() => undefined, () => undefined).then(() => {
        this.s.releaseBudget();
        this.s.onEnd(this);
      });
      for (const q of this.queue.splice(0)) {
        if (q.kind === 'close') q.done();
        else {
          q.cleanup();
          q.reject(reason === 'destroyed' ? destroyedError() : new SessionEndedError(reason));
        }
      }
    }
    return this.stopped as Promise<void>;
  }

  private armIdle(): void {
    const idleMs = this.s.options.idleMs;
    if (idleMs === undefined || this.idleTimer || this.reason !== null) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (!this.busy && this.queue.length === 0) void this.end('idle');
    }, idleMs);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
