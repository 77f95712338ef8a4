// The JS backend's process-wide worker threads: every JsSandbox shares at
// most `jsWorkerLimit()` of them (default max(8, 4 x CPUs); MIMOBOX_JS_WORKERS
// overrides). A thread is handed out first-come first-served, kept warm while
// idle up to one per CPU, and replaced lazily after it is terminated.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { abortedError } from '../../shared/errors.js';
import { sharePathLock } from '../wasi/fd/path-lock.js';
import type { JobOutcome } from './protocol.js';

// Before any guest thread exists: where /proc/self/fd is missing (macOS,
// Windows) the guests' path calls take this shared lock (fd/path-lock.ts).
sharePathLock();

export const JS_WORKERS_ENV = 'MIMOBOX_JS_WORKERS';
/** Idle threads beyond one per CPU are stopped after this long, so a burst does not keep them. */
const IDLE_WORKER_MS = 2000;
/**
 * A guest thread's JS heap holds only the WASI layer's objects (guest linear
 * memory and stdin are ArrayBuffers outside it). Its own limit means a host
 * started with a small --max-old-space-size does not shrink it, and a thread
 * cannot take the host's whole heap.
 */
export const WORKER_LIMITS = { maxOldGenerationSizeMb: 256 } as const;

// ---- the process-wide threads ----------------------------------------------

export interface Running {
  message(outcome: JobOutcome): void;
  /** `starting`: the thread failed before it ran any code (it never came online). */
  failed(reason: string, starting: boolean): void;
}

export interface Slot {
  worker: Worker | undefined;
  output: SharedArrayBuffer | undefined;
  wake: Int32Array;
  current: Running | undefined;
  busy: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

interface ThreadWaiter {
  grant(slot: Slot): void;
}

/** The most JS-backend guests that run at once in this process (= worker threads). */
export function jsWorkerLimit(): number {
  const raw = process.env[JS_WORKERS_ENV];
  if (raw !== undefined && /^\d+$/.test(raw.trim()) && Number(raw) > 0) return Number(raw);
  return Math.max(8, 4 * availableParallelism());
}

export class WorkerHost {
  private readonly slots: Slot[] = [];
  private readonly waiters: ThreadWaiter[] = [];
  /**
   * Threads told to stop that have not exited yet. Their descriptors (an
   * event loop's epoll and eventfds, the guest's files) and memory are
   * released only at exit, which on a busy machine (guests run at a lower
   * priority) can take seconds: whoever measures leaks waits for this to be 0.
   */
  private stopping = 0;

  constructor(readonly limit: number, private readonly workerUrl: URL) {}

  /** A thread for one execute; waits first-come first-served when all are busy. */
  acquire(timeoutMs: number | undefined, signal: AbortSignal, timeoutError: () => Error): Promise<Slot> {
    if (signal.aborted) return Promise.reject(abortedError('execute', signal.reason));
    if (this.waiters.length === 0) {
      const slot = this.take();
      if (slot) return Promise.resolve(slot);
    }
    return new Promise<Slot>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (e: Error) => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        done();
        reject(e);
      };
      const onAbort = () => leave(abortedError('execute', signal.reason));
      const done = () => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const waiter: ThreadWaiter = {
        grant: (slot) => {
          done();
          resolve(slot);
        },
      };
      if (timeoutMs !== undefined) timer = setTimeout(() => leave(timeoutError()), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Gives the thread back (its worker alive or not) and hands it to the next waiter. */
  release(slot: Slot): void {
    slot.current = undefined;
    slot.worker?.unref();
    slot.busy = false;
    const next = this.waiters.shift();
    if (next) {
      next.grant(this.take() as Slot);
      return;
    }
    if (slot.worker && !slot.idleTimer) {
      slot.idleTimer = setTimeout(() => {
        slot.idleTimer = undefined;
        const live = this.slots.filter((s) => s.worker).length;
        if (!slot.busy && slot.worker && live > this.keepWarm) void this.kill(slot);
      }, IDLE_WORKER_MS);
      slot.idleTimer.unref();
    }
  }

  /** Threads kept alive while idle: one per CPU. */
  private get keepWarm(): number {
    return Math.min(this.limit, availableParallelism());
  }

  private take(): Slot | undefined {
    let slot = this.slots.find((s) => !s.busy && s.worker) ?? this.slots.find((s) => !s.busy);
    if (!slot && this.slots.length < this.limit) {
      slot = {
        worker: undefined, output: undefined, wake: new Int32Array(new SharedArrayBuffer(4)), current: undefined,
        busy: false, idleTimer: undefined,
      };
      this.slots.push(slot);
    }
    if (slot) {
      slot.busy = true;
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    return slot;
  }

  worker(slot: Slot): Worker {
    if (slot.worker) return slot.worker;
    // No host flags: a Worker refuses many (--max-old-space-size, --expose-gc,
    // --inspect, ... throw ERR_WORKER_INVALID_EXEC_ARGV) and the guest's thread
    // needs none (V8 flags are process-wide and reach it anyway). Its own heap
    // holds only the WASI layer's small objects: guest memory is outside it.
    const worker = new Worker(this.workerUrl, { execArgv: [], resourceLimits: WORKER_LIMITS });
    worker.unref();
    let online = false;
    worker.once('online', () => (online = true));
    const gone = (reason: string) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.current?.failed(reason, !online);
    };
    worker.on('message', (outcome: JobOutcome) => {
      if (slot.worker === worker) slot.current?.message(outcome);
    });
    worker.on('error', (e) => gone(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => gone(`the worker exited with code ${code}`));
    slot.worker = worker;
    return worker;
  }

  /** Stops the slot's worker (a running guest with it); the next execute on the slot spawns a new one. */
  async kill(slot: Slot): Promise<void> {
    const worker = slot.worker;
    if (!worker) return;
    slot.worker = undefined;
    // An idle thread's output buffer goes with it.
    if (!slot.busy) slot.output = undefined;
    // Wake a guest sleeping in poll_oneoff so the thread stops at once.
    Atomics.store(slot.wake, 0, 1);
    Atomics.notify(slot.wake, 0);
    this.stopping++;
    try {
      await worker.terminate();
    } finally {
      this.stopping--;
    }
  }

  stats(): JsWorkerStats {
    return {
      threads: this.slots.filter((s) => s.worker).length,
      busy: this.slots.filter((s) => s.busy).length,
      waiting: this.waiters.length,
      limit: this.limit,
      stopping: this.stopping,
      warm: this.keepWarm,
    };
  }
}

let host: WorkerHost | undefined;

export function sharedHost(workerUrl: URL): WorkerHost {
  host ??= new WorkerHost(jsWorkerLimit(), workerUrl);
  return host;
}

export interface JsWorkerStats {
  /** Threads alive and usable (running a guest or idle). */
  threads: number;
  /** Threads running a guest, or held by an execute being stopped. */
  busy: number;
  /** Executes waiting for a thread. */
  waiting: number;
  limit: number;
  /** Threads told to stop that have not exited yet (not counted in `threads`). */
  stopping: number;
  /** Idle threads kept alive for later executes; idle ones beyond it exit after 2 s. */
  warm: number;
}

/** For tests and monitoring: the JS backend's process-wide threads. */
export function jsWorkerStats(): JsWorkerStats {
  const limit = jsWorkerLimit();
  return host?.stats() ?? { threads: 0, busy: 0, waiting: 0, limit, stopping: 0, warm: Math.min(limit, availableParallelism()) };
}

