// A small pool of worker threads, one guest at a time each. Beyond the pool
// size, executes queue (optionally with a queue timeout). At the deadline or
// on abort the worker is terminated (V8 stops even a call-free loop) and
// replaced lazily by the next execute.
import { Worker } from 'node:worker_threads';
import { AbortError, ResourceError } from '../errors.js';
import { outputBufferSize, readCaptured, type CapturedStream } from './limits.js';
import type { JobMessage, JobOutcome } from './protocol.js';

export type PoolJob = Omit<JobMessage, 'output' | 'wake' | 'maxOutputBytes'>;

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  queueTimeoutMs?: number | undefined;
}

export interface RunResult {
  outcome: JobOutcome;
  timedOut: boolean;
  stdout: CapturedStream;
  stderr: CapturedStream;
  elapsedMs: number;
}

interface Running {
  message(outcome: JobOutcome): void;
  failed(reason: string): void;
  destroy(): void;
}

interface Slot {
  worker: Worker | undefined;
  output: SharedArrayBuffer | undefined;
  wake: Int32Array;
  current: Running | undefined;
}

interface Waiting {
  job: PoolJob;
  opts: RunOptions;
  /** performance.now() when it was queued: queueTimeoutMs covers the slot and the budget wait. */
  enqueuedAt: number;
  resolve(r: RunResult): void;
  reject(e: unknown): void;
  cleanup(): void;
}

const abortError = (signal: AbortSignal): AbortError =>
  new AbortError(`the execute was aborted: ${String(signal.reason ?? 'no reason given')}`);
const destroyedError = (): AbortError => new AbortError('this sandbox was destroyed: create a new one', 'DESTROYED');

/**
 * Called once an execute has a slot, before its guest starts: waits for the
 * process memory budget (memory-budget.ts) and resolves with its release.
 * `timeoutMs` is what is left of queueTimeoutMs; `signal` aborts the wait.
 */
export type Reserve = (timeoutMs: number | undefined, signal: AbortSignal) => Promise<() => void>;

export class WorkerPool {
  private readonly slots: Slot[];
  private readonly queue: Waiting[] = [];
  private destroyed = false;

  constructor(
    size: number,
    private readonly maxOutputBytes: number,
    private readonly workerUrl: URL,
    private readonly reserve?: Reserve,
  ) {
    this.slots = Array.from({ length: size }, () => ({
      worker: undefined, output: undefined, wake: new Int32Array(new SharedArrayBuffer(4)), current: undefined,
    }));
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
      const onAbort = () => leave(abortError(signal as AbortSignal));
      const waiting: Waiting = {
        job, opts, resolve, reject, enqueuedAt: performance.now(),
        cleanup: () => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      if (queueTimeoutMs !== undefined) {
        timer = setTimeout(() => leave(new ResourceError('QUEUE_TIMEOUT',
          `the execute waited ${queueTimeoutMs} ms for a free slot (maxConcurrency ${this.slots.length}): raise maxConcurrency or queueTimeoutMs`)), queueTimeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiting);
      this.pump();
    });
  }

  /** Stops everything: running and queued executes reject with DESTROYED. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const w of this.queue.splice(0)) {
      w.cleanup();
      w.reject(destroyedError());
    }
    await Promise.all(this.slots.map(async (slot) => {
      slot.current?.destroy();
      await this.kill(slot);
    }));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.current === undefined);
      if (!slot) return;
      const waiting = this.queue.shift() as Waiting;
      waiting.cleanup();
      this.admit(slot, waiting);
    }
  }

  /** Holds the slot while the execute waits for memory budget, then starts it. */
  private admit(slot: Slot, w: Waiting): void {
    if (!this.reserve) {
      this.start(slot, w, () => {});
      return;
    }
    const { signal, queueTimeoutMs } = w.opts;
    const wait = new AbortController();
    const onAbort = () => wait.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const settle = (): boolean => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return false;
      settled = true;
      return true;
    };
    const giveBack = (err: unknown) => {
      slot.current = undefined;
      w.reject(err);
      if (!this.destroyed) this.pump();
    };
    slot.current = {
      message: () => {},
      failed: () => {},
      destroy: () => {
        if (!settle()) return;
        wait.abort();
        slot.current = undefined;
        w.reject(destroyedError());
      },
    };
    const left = queueTimeoutMs === undefined ? undefined : w.enqueuedAt + queueTimeoutMs - performance.now();
    this.reserve(left, wait.signal).then(
      (release) => {
        if (!settle()) return release(); // destroyed while waiting
        if (signal?.aborted) {
          release();
          giveBack(abortError(signal));
          return;
        }
        this.start(slot, w, release);
      },
      (err: unknown) => {
        if (!settle()) return;
        giveBack(err instanceof AbortError && signal?.aborted ? abortError(signal) : err);
      },
    );
  }

  private start(slot: Slot, w: Waiting, releaseBudget: () => void): void {
    const { timeoutMs, signal } = w.opts;
    const output = (slot.output ??= new SharedArrayBuffer(outputBufferSize(this.maxOutputBytes)));
    const worker = slot.worker ?? this.spawn(slot);
    worker.ref();
    Atomics.store(slot.wake, 0, 0);
    const started = performance.now();
    let done = false;
    let timer: NodeJS.Timeout | undefined;

    const collect = (outcome: JobOutcome, timedOut: boolean): RunResult => ({
      outcome, timedOut, elapsedMs: performance.now() - started,
      stdout: readCaptured(output, 0, this.maxOutputBytes),
      stderr: readCaptured(output, 1, this.maxOutputBytes),
    });
    // keepBudget: the guest may still be running (stop): its memory is given back after the kill.
    const finish = (keepBudget = false): boolean => {
      if (done) return false;
      done = true;
      if (!keepBudget) releaseBudget();
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const release = () => {
      slot.current = undefined;
      slot.worker?.unref();
      if (!this.destroyed) this.pump();
    };
    // Terminate first, then read the output: the thread is gone, so the shared buffer is final.
    const stop = (settle: () => void) => {
      if (!finish(true)) return;
      void this.kill(slot).then(() => {
        releaseBudget();
        settle();
        release();
      });
    };
    const onAbort = () => stop(() => w.reject(abortError(signal as AbortSignal)));

    slot.current = {
      message: (outcome) => {
        if (!finish()) return;
        const r = collect(outcome, false);
        release();
        w.resolve(r);
      },
      failed: (reason) => {
        if (!finish()) return;
        const r = collect({ exitCode: null, trap: 'other', error: `the sandbox worker died: ${reason}` }, false);
        release();
        w.resolve(r);
      },
      destroy: () => {
        if (!finish()) return;
        slot.current = undefined;
        w.reject(destroyedError());
      },
    };
    timer = setTimeout(() => stop(() => w.resolve(collect(
      { exitCode: null, error: `the guest ran past the ${timeoutMs} ms timeout and was stopped` }, true))), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    const message: JobMessage = { ...w.job, maxOutputBytes: this.maxOutputBytes, output, wake: slot.wake.buffer as SharedArrayBuffer };
    try {
      worker.postMessage(message);
    } catch (e) {
      slot.current.failed(e instanceof Error ? e.message : String(e));
    }
  }

  private spawn(slot: Slot): Worker {
    // Inherit the host's flags except those that only make sense for the main
    // script (`node --input-type=module -e ...` would stop the worker from loading).
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const worker = new Worker(this.workerUrl, { execArgv });
    worker.unref();
    const gone = (reason: string) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.current?.failed(reason);
    };
    worker.on('message', (outcome: JobOutcome) => {
      if (slot.worker === worker) slot.current?.message(outcome);
    });
    worker.on('error', (e) => gone(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => gone(`the worker exited with code ${code}`));
    slot.worker = worker;
    return worker;
  }

  private async kill(slot: Slot): Promise<void> {
    const worker = slot.worker;
    if (!worker) return;
    slot.worker = undefined;
    // Wake a guest sleeping in poll_oneoff so the thread stops at once.
    Atomics.store(slot.wake, 0, 1);
    Atomics.notify(slot.wake, 0);
    await worker.terminate();
  }
}
