// Where the kernel cannot name an entry inside a held directory (no
// /proc/self/fd: macOS, Windows), a path call checks the directory's identity
// and then uses its path, and a rename by another guest in between would
// redirect the call. There, every path call of every guest in this process
// takes one lock, so no guest's rename can fall between another's check and
// use. Other processes writing the same grant are not covered (SECURITY.md).
// On Linux the lock is never taken: each call is one lookup in a held directory.
import { getEnvironmentData, isMainThread, setEnvironmentData, threadId } from 'node:worker_threads';
import { hasProcFd } from './host-dir.js';

const KEY = 'mimobox:path-lock';
/**
 * A lock whose holder has not let go after this long is taken over: its
 * thread was terminated mid-call (at a deadline), and path calls take far less.
 */
const STALE_MS = 2000;

/**
 * Main thread, before any guest worker starts: the lock word the workers
 * share (each copies the environment data when it is created). Four bytes,
 * made on every platform; only workers without /proc/self/fd take it.
 */
export function sharePathLock(): void {
  if (!isMainThread || getEnvironmentData(KEY) !== undefined) return;
  setEnvironmentData(KEY, new Int32Array(new SharedArrayBuffer(4)));
}

let word: Int32Array | null | undefined;
let depth = 0;

/** The shared lock word; null where it is not needed (or was not shared: then only this thread's calls are ordered). */
function lockWord(): Int32Array | null {
  if (word === undefined) {
    const shared = hasProcFd() ? undefined : getEnvironmentData(KEY);
    word = shared instanceof Int32Array ? shared : null;
  }
  return word;
}

/** Runs `fn` holding the process's path lock (re-entrant; free where /proc/self/fd works). */
export function withPathLock<T>(fn: () => T): T {
  const lock = lockWord();
  if (!lock) return fn();
  if (depth++ === 0) acquire(lock);
  try {
    return fn();
  } finally {
    if (--depth === 0) release(lock);
  }
}

function acquire(lock: Int32Array): void {
  const me = threadId + 1; // never 0, the free value
  const since = Date.now();
  for (;;) {
    const holder = Atomics.compareExchange(lock, 0, 0, me);
    if (holder === 0) return;
    if (Date.now() - since > STALE_MS && Atomics.compareExchange(lock, 0, holder, me) === holder) return;
    Atomics.wait(lock, 0, holder, 50);
  }
}

function release(lock: Int32Array): void {
  Atomics.store(lock, 0, 0);
  Atomics.notify(lock, 0, 1);
}
