// `mimobox worker`: a queue worker process (mimobox-wasm/queue) that pulls
// sandbox jobs from Redis until SIGTERM/SIGINT, then finishes the running
// jobs and exits 0. Loaded only when that command runs, so `mimobox run`
// never loads BullMQ.
import { parseArgs } from 'node:util';
import { SandboxError } from '../shared/errors.js';
import { createQueueWorker, QueueError, type QueueWorker } from '../queue/index.js';
import type { SandboxConfig } from '../shared/types.js';
import { EXIT, exitCodeForError } from './exit-codes.js';
import { WORKER_HELP } from './help.js';
import type { Io } from './io.js';
import { guestConfig, parseBackend, SANDBOX_OPTIONS } from './parse.js';
import { UsageError } from './usage.js';

const OPTIONS = {
  ...SANDBOX_OPTIONS,
  redis: { type: 'string' },
  queue: { type: 'string' },
  concurrency: { type: 'string' },
  name: { type: 'string' },
} as const;

function say(io: Io, line: string): void {
  io.stderr.write(`mimobox: ${line}\n`);
}

export async function workerCommand(args: string[], io: Io): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (e) {
    throw new UsageError(`worker: ${(e as Error).message}`);
  }
  if (values.help) {
    io.stdout.write(WORKER_HELP);
    return 0;
  }
  const sandbox: SandboxConfig = guestConfig(values);
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new UsageError(`--concurrency: expected a positive integer, got ${JSON.stringify(values.concurrency)}`);
    }
  }
  const backend = parseBackend(values.backend);
  const redis = values.redis ?? 'redis://127.0.0.1:6379';

  let lastError = 0;
  let worker: QueueWorker;
  try {
    worker = createQueueWorker({
      connection: redis,
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
      sandbox,
      backend,
      onError: (e) => {
        // Connection errors repeat while Redis is away: one line every 5 s is enough.
        if (Date.now() - lastError < 5000) return;
        lastError = Date.now();
        say(io, `worker: ${e.message}`);
      },
    });
  } catch (e) {
    const status = exitCodeForError(e);
    if (status === EXIT.usage) throw new UsageError((e as Error).message);
    if (e instanceof SandboxError || e instanceof QueueError) {
      say(io, `worker: cannot start: ${e.message}`);
      return status;
    }
    throw e;
  }

  worker.bullWorker.on('failed', (job, err) => {
    if (job) say(io, `job ${job.id} failed: ${err.message}`);
  });
  return await new Promise<number>((done) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        say(io, `${signal}: taking no new jobs, finishing ${worker.running} running job(s)`);
        void worker.close().then(() => {
          say(io, 'worker stopped');
          finish(0);
        });
      } else {
        say(io, `${signal} again: stopping the running guests; their jobs go to other workers`);
        void worker.close({ force: true }).finally(() => finish(signal === 'SIGTERM' ? EXIT.sigterm : EXIT.sigint));
      }
    };
    const finish = (code: number) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      done(code);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    void worker.waitUntilReady().then(
      () => say(io, `worker ${worker.name} ready: queue ${worker.queue} on ${redis.replace(/\/\/[^@/]*@/, '//***@')}`),
      () => undefined,
    );
  });
}
