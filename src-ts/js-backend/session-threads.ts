// Threads for sessions. A session owns its thread for its whole life, so there
// is nothing to reuse; but starting one (a V8 isolate, then this package's
// worker modules) takes 50-150 ms, most of an open. So one spare is kept
// started: an open takes it (or starts a thread when there is none) and a new
// spare is started behind it. An unused spare stops after SPARE_IDLE_MS, and
// never keeps the process alive. Only processes that open sessions get one.
import { Worker } from 'node:worker_threads';
import { WORKER_LIMITS } from './threads.js';

const SPARE_IDLE_MS = 5000;

interface Spare {
  worker: Worker;
  href: string;
  alive: boolean;
  timer: NodeJS.Timeout;
  dead(): void;
}

let spare: Spare | undefined;

function spawn(url: URL): Worker {
  // No host flags: a Worker refuses many (see threads.ts), and the guest's thread needs none.
  const worker = new Worker(url, { execArgv: [], resourceLimits: WORKER_LIMITS });
  worker.unref();
  return worker;
}

/** A started (or starting) thread running `url`, for one session; throws when no thread can start. */
export function sessionThread(url: URL): Worker {
  const s = spare;
  spare = undefined;
  let worker: Worker | undefined;
  if (s) {
    clearTimeout(s.timer);
    s.worker.off('error', s.dead);
    s.worker.off('exit', s.dead);
    if (s.alive && s.href === url.href) worker = s.worker;
    else void s.worker.terminate();
  }
  worker ??= spawn(url);
  // Behind this open, not during it: on a small machine the two would share its cores.
  setImmediate(() => startSpare(url));
  return worker;
}

function startSpare(url: URL): void {
  if (spare) return;
  let worker: Worker;
  try {
    worker = spawn(url);
  } catch {
    return; // no thread to spare now; the next open starts its own
  }
  const s: Spare = {
    worker, href: url.href, alive: true,
    timer: setTimeout(() => {
      if (spare === s) spare = undefined;
      void worker.terminate();
    }, SPARE_IDLE_MS),
    dead: () => {
      s.alive = false;
      if (spare === s) spare = undefined;
    },
  };
  s.timer.unref();
  worker.once('error', s.dead);
  worker.once('exit', s.dead);
  spare = s;
}
