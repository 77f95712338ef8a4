// The process-wide budget of reserved guest memory. Every execute reserves its
// sandbox's memoryLimitMb from it while it runs (it is the most the guest can
// take), and waits for budget the way it waits for a slot. So a thousand
// sandboxes with 64 MiB caps cannot, together, take more than the budget.
//
// The JS backend keeps its counter here; the native backend keeps its own in
// Rust (same default, same env override). The public `setProcessMemoryBudget`
// (src-ts/memory-budget.ts) sets both; shared code knows no backend.
import { abortedError, ConfigError, queueTimeoutError, ResourceError, type QueueWaiter } from './errors.js';

import { builtin } from './node-floor.js';

// A built-in through getBuiltinModule, not `import` (why: native/addon.ts).
const { totalmem } = builtin('node:os');

const MiB = 1024 * 1024;
/** Upper bound accepted for the budget: 1 PiB, i.e. "no practical limit". */
export const MAX_MEMORY_BUDGET_MB = 1024 * 1024 * 1024;
export const MEMORY_BUDGET_ENV = 'MIMOBOX_MEMORY_BUDGET_MB';

interface Waiter {
  bytes: number;
  grant(release: () => void): void;
  fail(error: Error): void;
}

let budgetBytes: number | undefined;
let reservedBytes = 0;
const queue: Waiter[] = [];

const mib = (bytes: number): string => `${Math.round((bytes / MiB) * 100) / 100} MiB`;

export function parseBudgetMb(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_MEMORY_BUDGET_MB) {
    throw new ConfigError(field, `must be a positive whole number of MiB (at most ${MAX_MEMORY_BUDGET_MB}), got ${String(value)}`);
  }
  return value;
}

/**
 * The default: half of physical RAM (at least 64 MiB), or MIMOBOX_MEMORY_BUDGET_MB
 * read at first use. As in the native addon (src-rs/budget.rs), a value that is
 * not a positive whole number is ignored, so both backends agree on the budget.
 */
function initialBudgetBytes(): number {
  const raw = process.env[MEMORY_BUDGET_ENV]?.trim();
  if (raw && /^\d+$/.test(raw) && Number(raw) > 0 && Number(raw) <= MAX_MEMORY_BUDGET_MB) return Number(raw) * MiB;
  return Math.max(64, Math.floor(totalmem() / 2 / MiB)) * MiB;
}

/** The process budget in bytes (the JS backend's view; native keeps the same number). */
export function processMemoryBudgetBytes(): number {
  budgetBytes ??= initialBudgetBytes();
  return budgetBytes;
}

/** Sets the JS backend's budget (MiB, already checked by parseBudgetMb) and re-checks waiting executes. */
export function setJsMemoryBudgetMb(mb: number): void {
  budgetBytes = mb * MiB;
  pump();
}

/** For tests and monitoring: the JS backend's counters. */
export function memoryBudgetStats(): { budgetBytes: number; reservedBytes: number; waiting: number } {
  return { budgetBytes: processMemoryBudgetBytes(), reservedBytes, waiting: queue.length };
}

function releaser(bytes: number): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    reservedBytes -= bytes;
    pump();
  };
}

function overBudgetError(bytes: number, total: number): ResourceError {
  return new ResourceError(
    'MEMORY_BUDGET',
    `the sandbox's memory cap (${mib(bytes)}) is larger than the whole process memory budget (${mib(total)}): ` +
      `lower memoryLimitMb, or raise the budget with setProcessMemoryBudget() or ${MEMORY_BUDGET_ENV}`,
  );
}

/** Throws MEMORY_BUDGET at once when `bytes` is over the whole budget (it could never be granted). */
export function checkFitsBudget(bytes: number): void {
  const total = processMemoryBudgetBytes();
  if (bytes > total) throw overBudgetError(bytes, total);
}

/** Grants waiters in FIFO order while they fit; fails those that can never fit. */
function pump(): void {
  const total = processMemoryBudgetBytes();
  for (let i = 0; i < queue.length; ) {
    const w = queue[i] as Waiter;
    if (w.bytes > total) {
      queue.splice(i, 1);
      w.fail(overBudgetError(w.bytes, total));
    } else i++;
  }
  while (queue.length > 0) {
    const head = queue[0] as Waiter;
    if (reservedBytes + head.bytes > total) return;
    queue.shift();
    reservedBytes += head.bytes;
    head.grant(releaser(head.bytes));
  }
}

export interface ReserveOptions {
  /** Give up after this long (ms), with MEMORY_BUDGET. Undefined: wait as long as it takes. */
  timeoutMs?: number | undefined;
  /** Aborting stops the wait; the promise rejects with ABORTED. */
  signal?: AbortSignal | undefined;
  /** What waits, as the errors name it. Default 'execute'. */
  what?: QueueWaiter | undefined;
}

/**
 * Reserves `bytes` of the process budget. Resolves with a release function
 * (idempotent) once the bytes fit; waits first-come first-served otherwise.
 */
export function reserveMemory(bytes: number, opts: ReserveOptions = {}): Promise<() => void> {
  const total = processMemoryBudgetBytes();
  if (bytes > total) return Promise.reject(overBudgetError(bytes, total));
  if (opts.signal?.aborted) return Promise.reject(abortedError(opts.what ?? 'execute', opts.signal.reason));
  if (queue.length === 0 && reservedBytes + bytes <= total) {
    reservedBytes += bytes;
    return Promise.resolve(releaser(bytes));
  }
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const { signal, timeoutMs } = opts;
    const leave = (error: Error) => {
      const i = queue.indexOf(waiter);
      if (i >= 0) queue.splice(i, 1);
      done();
      reject(error);
      pump(); // a large waiter leaving the head may unblock smaller ones
    };
    const onAbort = () => leave(abortedError(opts.what ?? 'execute', signal?.reason));
    const done = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const waiter: Waiter = {
      bytes,
      grant: (release) => {
        done();
        resolve(release);
      },
      fail: (error) => {
        done();
        reject(error);
      },
    };
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => leave(queueTimeoutError(
        opts.what ?? 'execute', timeoutMs,
        `${mib(bytes)} of the process memory budget (${mib(reservedBytes)} of ${mib(processMemoryBudgetBytes())} reserved by running executes)`,
        `raise queueTimeoutMs, lower memoryLimitMb, or raise the budget (setProcessMemoryBudget / ${MEMORY_BUDGET_ENV})`,
        'MEMORY_BUDGET',
      )), Math.max(0, timeoutMs));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    queue.push(waiter);
  });
}
