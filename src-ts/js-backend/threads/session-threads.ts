// Threads for sessions. A session owns its thread for its whole life, so there
// is nothing to reuse, but starting one (a V8 isolate, Node's bootstrap, then
// this package's worker modules) costs 50-150 ms of CPU. Two things follow:
//
// - Threads start one at a time. Twenty bootstrapping at once on a small
//   machine starve the host's event loop (measured: 20 opens at once, a 10 ms
//   timer stalled 420 ms; one at a time, 29 ms); they run at normal priority
//   until their own code can lower it.
// - One spare is kept started: an open takes it (or starts a thread when there
//   is none) and a new spare starts behind it. An unused spare stops after
//   SPARE_IDLE_MS and never keeps the process alive. Only processes that open
//   sessions get one.
import { Worker } from 'node:worker_threads';
import { WORKER_LIMITS } from './threads.js';

const SPARE_IDLE_MS = 5000;

interface Starting {
  thread: Promise<Worker>;
  href: string;
  worker: Worker | undefined;
  /** Keep the process alive while it starts: someone awaits it. */
  wanted: boolean;
  failed: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** Settles when the latest start has: the next one begins then. */
let chain: Promise<unknown> = Promise.resolve();
let spare: Starting | undefined;

function start(url: URL, wanted: boolean): Starting {
  const s: Starting = { thread: undefined as unknown as Promise<Worker>, href: url.href, worker: undefined, wanted, failed: false, timer: undefined };
  s.thread = chain.then(() => new Promise<Worker>((resolve, reject) => {
    // No host flags: a Worker refuses many (see threads.ts), and the guest's thread needs none.
    const worker = new Worker(url, { execArgv: [], resourceLimits: WORKER_LIMITS });
    s.worker = worker;
    if (!s.wanted) worker.unref();
    const settle = (error?: Error) => {
      worker.off('message', loaded);
      worker.off('error', settle);
      worker.off('exit', exited);
      if (error) {
        s.failed = true;
        reject(error);
      } else resolve(worker);
    };
    // session-worker.ts posts once its modules have loaded.
    const loaded = () => settle();
    const exited = (code: number) => settle(new Error(`the thread exited with code ${code} while starting`));
    worker.once('message', loaded);
    worker.once('error', settle);
    worker.once('exit', exited);
  }));
  chain = s.thread.catch(() => undefined);
  return s;
}

/**
 * A thread running `url` that has loaded, for one session, ref'd (the session unrefs it while idle).
 * Rejects when no thread could start.
 */
export async function sessionThread(url: URL): Promise<Worker> {
  let s = spare;
  spare = undefined;
  if (s) clearTimeout(s.timer);
  if (s && (s.failed || s.href !== url.href)) {
    void s.thread.then((w) => w.terminate(), () => undefined);
    s = undefined;
  }
  if (s) {
    s.wanted = true;
    s.worker?.ref();
  }
  const taken = s ?? start(url, true);
  // Behind this open, not during it: it queues behind this thread's start.
  setImmediate(startSpare, url);
  try {
    return await taken.thread;
  } catch (e) {
    if (taken === s) return start(url, true).thread; // the spare died: one more try with a fresh thread
    throw e;
  }
}

function startSpare(url: URL): void {
  if (spare) return;
  let s: Starting;
  try {
    s = start(url, false);
  } catch {
    return; // no thread to spare now; the next open starts its own
  }
  spare = s;
  s.timer = setTimeout(() => {
    if (spare !== s) return;
    spare = undefined;
    void s.thread.then((w) => w.terminate(), () => undefined);
  }, SPARE_IDLE_MS);
  s.timer.unref();
  // A spare that dies while waiting is not handed out (and its error is not an uncaught one).
  void s.thread.then((w) => {
    w.on('error', () => (s.failed = true));
    w.once('exit', () => (s.failed = true));
  }, () => undefined);
}
