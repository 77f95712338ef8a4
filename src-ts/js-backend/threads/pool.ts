// Worker threads for the JS backend, one guest at a time each.
//
// The threads are process-wide (WorkerHost): every JsSandbox shares at most
// `jsWorkerLimit()` of them (default max(8, 4 x CPUs); MIMOBOX_JS_WORKERS
// overrides), so a thousand sandboxes cost no more threads than one busy one.
// Each sandbox's WorkerPool adds its own maxConcurrency and queue on top. An
// execute waits, in order, for a place under its sandbox's maxConcurrency, for
// a thread, and for its memory cap from the process budget (memory-budget.ts);
// queueTimeoutMs covers all three waits. At the deadline or on abort the
// execute settles at once and the worker is terminated in the background
// (V8 stops a guest at its next interrupt check, which bulk-ops.ts keeps
// close), then replaced lazily.
import { abortedError, destroyedError, InternalError, queueTimeoutError } from '../../shared/errors.js';
import { outputBufferSize, readCaptured, type CapturedStream } from '../wasi/output-capture.js';
import type { JobMessage, JobOutcome } from './protocol.js';
import { JS_WORKERS_ENV, sharedHost, type Slot, type WorkerHost } from './threads.js';
import type { Worker } from 'node:worker_threads';
import type { HostDoor } from './host-door.js';

export { JS_WORKERS_ENV, jsWorkerLimit, jsWorkerStats } from './threads.js';

export type PoolJob = Omit<JobMessage, 'output' | 'wake' | 'maxOutputBytes'>;

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  queueTimeoutMs?: number | undefined;
  /** Serves the guest's host.call; closed when the run ends. */
  door?: HostDoor | undefined;
}

export interface RunResult {
  outcome: JobOutcome;
  timedOut: boolean;
  stdout: CapturedStream;
  stderr: CapturedStream;
  elapsedMs: number;
  /** The door's faults, when the run had a door. */
  hostCallFaults?: string[] | undefined;
}

/**
 * Called once an execute has a thread, before its guest starts: waits for the
 * process memory budget (memory-budget.ts) and resolves with its release.
 * `timeoutMs` is what is left of queueTimeoutMs; `signal` aborts the wait.
 */
export type Reserve = (timeoutMs: number | undefined, signal: AbortSignal) => Promise<() => void>;

/** A worker whose guest grew its memory past this is replaced, so idle threads do not pin memory. */
const RETIRE_MEMORY_BYTES = 32 * 1024 * 1024;
/**
 * Output buffers up to this size (caps up to 16 MiB) stay with their thread
 * for the next execute; larger ones are dropped. A SharedArrayBuffer is freed
 * only when the GC gets to it, so one new buffer per execute would hold far
 * more memory than the executes use; reusing it keeps RSS at what runs.
 */
const KEEP_OUTPUT_BUFFER_BYTES = 2 * 16 * 1024 * 1024 + 64;
/**
 * The longest a stopped execute (deadline, abort) waits for its thread to be
 * gone before it settles anyway: bulk-ops.ts keeps V8's stop to milliseconds,
 * this bounds it whatever V8 does.
 */
const STOP_GRACE_MS = 250;
/** The longest destroy() waits for its threads to stop. */
const DESTROY_WAIT_MS = 2000;
const workerStartError = (reason: string, cause?: unknown): InternalError =>
  new InternalError(`the JS backend could not start a worker thread for this execute: ${reason}`, { cause });

// ---- one sandbox's executes --------------------------------------------------

interface Waiting {
  job: PoolJob;
  opts: RunOptions;
  /** performance.now() when it was queued: queueTimeoutMs covers every wait. */
  enqueuedAt: number;
  resolve(r: RunResult): void;
  reject(e: unknown): void;
  cleanup(): void;
}

/** An execute past the sandbox's queue: waiting for a thread or budget, or running. */
interface Active {
  destroy(): Promise<void>;
}

export class WorkerPool {
  private readonly host: WorkerHost;
  private readonly queue: Waiting[] = [];
  private readonly active = new Set<Active>();
  private destroyed = false;

  constructor(
    private readonly size: number,
    private readonly maxOutputBytes: number,
    workerUrl: URL,
    private readonly reserve?: Reserve,
  ) {
    this.host = sharedHost(workerUrl);
  }

  run(job: PoolJob, opts: RunOptions): Promise<RunResult> {
    if (this.destroyed) return Promise.reject(destroyedError());
    return new Promise<RunResult>((resolve, reject) => {
      const { signal, queueTimeoutMs } = opts;
      let timer: NodeJS.Timeout | undefined;
      const leave = (err: unknown) => {
        const i = this.queue.indexOf(waiting);
        if (i >= 0) this.queue.splice(i, 1);
        waiting.cleanup();
        reject(err);
      };
      const onAbort = () => leave(abortedError('execute', signal?.reason));
      const waiting: Waiting = {
        job, opts, resolve, reject, enqueuedAt: performance.now(),
        cleanup: () => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (queueTimeoutMs !== undefined) {
        timer = setTimeout(() => leave(queueTimeoutError('execute', queueTimeoutMs,
          `a free slot (maxConcurrency ${this.size})`, 'raise maxConcurrency or queueTimeoutMs')), queueTimeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiting);
      this.pump();
    });
  }

  /**
   * Stops everything: running, waiting and queued executes reject with
   * DESTROYED at once. Resolves when their threads are gone, or after
   * DESTROY_WAIT_MS: a thread V8 is slow to stop goes on dying in the
   * background, still holding its place and memory budget.
   */
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const w of this.queue.splice(0)) {
      w.cleanup();
      w.reject(destroyedError());
    }
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DESTROY_WAIT_MS);
    });
    await Promise.race([Promise.all([...this.active].map((a) => a.destroy())), bound]);
    clearTimeout(timer);
  }

  private pump(): void {
    while (!this.destroyed && this.active.size < this.size && this.queue.length > 0) {
      const waiting = this.queue.shift() as Waiting;
      waiting.cleanup();
      void this.admit(waiting);
    }
  }

  /** Waits for a thread, then for memory budget, then starts the guest. */
  private async admit(w: Waiting): Promise<void> {
    const { signal, queueTimeoutMs } = w.opts;
    const deadline = queueTimeoutMs === undefined ? undefined : w.enqueuedAt + queueTimeoutMs;
    const left = () => (deadline === undefined ? undefined : Math.max(0, deadline - performance.now()));
    const wait = new AbortController();
    const onAbort = () => wait.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const handle: Active = {
      destroy: async () => {
        wait.abort();
      },
    };
    this.active.add(handle);
    let slot: Slot | undefined;
    let releaseBudget = (): void => {};
    const giveUp = (err: unknown) => {
      releaseBudget();
      if (slot) this.host.release(slot);
      this.active.delete(handle);
      w.reject(this.destroyed ? destroyedError() : signal?.aborted ? abortedError('execute', signal.reason) : err);
      this.pump();
    };
    try {
      slot = await this.host.acquire(left(), wait.signal, () => queueTimeoutError('execute', queueTimeoutMs ?? 0,
        'a worker thread', `the JS backend runs at most ${this.host.limit} guests at once in this process ` +
        `(${JS_WORKERS_ENV} raises it); raise queueTimeoutMs or run fewer at once`));
      if (this.reserve) releaseBudget = await this.reserve(left(), wait.signal);
    } catch (e) {
      signal?.removeEventListener('abort', onAbort);
      giveUp(e);
      return;
    }
    signal?.removeEventListener('abort', onAbort);
    if (this.destroyed || signal?.aborted) {
      giveUp(abortedError('execute', signal?.reason));
      return;
    }
    this.start(slot, w, releaseBudget, handle);
  }

  private start(slot: Slot, w: Waiting, releaseBudget: () => void, handle: Active): void {
    const { timeoutMs, signal, door } = w.opts;
    const cap = this.maxOutputBytes;
    const need = outputBufferSize(cap);
    if (slot.output?.byteLength !== need) slot.output = new SharedArrayBuffer(need);
    const output = slot.output;
    let worker: Worker;
    try {
      worker = this.host.worker(slot);
    } catch (e) {
      // new Worker throws for bad options or when the OS has no thread to give.
      releaseBudget();
      this.host.release(slot);
      this.active.delete(handle);
      w.reject(workerStartError(e instanceof Error ? e.message : String(e), e));
      if (!this.destroyed) this.pump();
      return;
    }
    worker.ref();
    Atomics.store(slot.wake, 0, 0);
    const started = performance.now();
    let done = false;
    let timer: NodeJS.Timeout | undefined;

    const collect = (outcome: JobOutcome, timedOut: boolean): RunResult => ({
      outcome, timedOut, elapsedMs: performance.now() - started,
      stdout: readCaptured(output, 0, cap),
      stderr: readCaptured(output, 1, cap),
      hostCallFaults: door?.takeFaults(),
    });
    // keepBudget: the guest may still be running (stop): its memory is given back after the kill.
    const finish = (keepBudget = false): boolean => {
      if (done) return false;
      done = true;
      // Drops a pending answer and wakes a guest waiting on the door, so a kill stops it at once.
      door?.close();
      if (!keepBudget) releaseBudget();
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const release = () => {
      if (need > KEEP_OUTPUT_BUFFER_BYTES && slot.output === output) slot.output = undefined;
      this.host.release(slot);
      this.active.delete(handle);
      if (!this.destroyed) this.pump();
    };
    // Settles once the thread is gone (its files closed, its output final),
    // or after STOP_GRACE_MS with the output as it is then: V8 may take a
    // while to stop a thread, and the caller's deadline must not wait for it.
    // The slot (with its output buffer) and the memory budget stay taken, and
    // the execute counts against maxConcurrency, until the thread is gone.
    let dying: Promise<void> | undefined;
    const stop = (settle: () => void) => {
      if (!finish(true)) return;
      let settled = false;
      const settleOnce = () => {
        if (settled) return;
        settled = true;
        clearTimeout(grace);
        settle();
      };
      const grace = setTimeout(settleOnce, STOP_GRACE_MS);
      dying = this.host.kill(slot).catch(() => undefined).then(() => {
        releaseBudget();
        settleOnce();
        release();
      });
    };
    const onAbort = () => stop(() => w.reject(abortedError('execute', signal?.reason)));

    slot.current = {
      message: (outcome) => {
        if (!finish()) return;
        const r = collect(outcome, false);
        // A thread that held a large guest memory is replaced rather than kept idle with it.
        if ((outcome.memoryBytes ?? 0) > RETIRE_MEMORY_BYTES) void this.host.kill(slot);
        release();
        w.resolve(r);
      },
      failed: (reason, starting) => {
        if (!finish()) return;
        release();
        // A thread that never ran is the sandbox's failure, not the guest's result.
        if (starting) {
          w.reject(workerStartError(reason));
          return;
        }
        w.resolve(collect({ exitCode: null, trap: 'other', error: `the sandbox worker died: ${reason}` }, false));
      },
    };
    handle.destroy = async () => {
      stop(() => w.reject(destroyedError()));
      await dying;
    };
    timer = setTimeout(() => stop(() => w.resolve(collect(
      { exitCode: null, error: `the guest ran past the ${timeoutMs} ms timeout and was stopped` }, true))), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    const message: JobMessage = { ...w.job, maxOutputBytes: cap, output, wake: slot.wake.buffer as SharedArrayBuffer };
    if (door) message.door = door.end;
    try {
      worker.postMessage(message, door ? [door.end.port] : []);
    } catch (e) {
      slot.current.failed(e instanceof Error ? e.message : String(e), false);
    }
  }
}
