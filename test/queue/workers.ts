// Starts queue workers as separate Node processes (test/queue/worker-main.mjs).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./worker-main.mjs', import.meta.url));

export interface WorkerMessage {
  type: 'ready' | 'active' | 'completed' | 'failed' | 'closed' | 'running';
  jobId?: string;
  reason?: string;
  running?: number;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly messages: WorkerMessage[];
  /** Resolves with the first message matching (including ones already received). */
  next(pred: (m: WorkerMessage) => boolean, timeoutMs?: number): Promise<WorkerMessage>;
  /** Asks for a graceful close and waits for the process to exit. */
  close(): Promise<number | null>;
  kill9(): Promise<void>;
  readonly exited: Promise<number | null>;
}

const all = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of all) c.kill('SIGKILL');
});

export async function startWorker(options: Record<string, unknown>): Promise<WorkerProcess> {
  const child = fork(MAIN, [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  all.add(child);
  const messages: WorkerMessage[] = [];
  const listeners = new Set<() => void>();
  child.on('message', (m: WorkerMessage) => {
    messages.push(m);
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      all.delete(child);
      for (const l of listeners) l();
      resolve(code);
    }),
  );
  const next = (pred: (m: WorkerMessage) => boolean, timeoutMs = 20_000) =>
    new Promise<WorkerMessage>((resolve, reject) => {
      const check = () => {
        const hit = messages.find(pred);
        if (hit) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(hit);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check);
          clearTimeout(timer);
          reject(new Error(`worker exited (${child.exitCode ?? child.signalCode}) before the expected message`));
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error('timed out waiting for a worker message'));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  await next((m) => m.type === 'ready');
  return {
    child,
    messages,
    next,
    exited,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.send({ type: 'close' });
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
