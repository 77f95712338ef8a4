// createQueueWorker: pulls sandbox jobs from a BullMQ queue and runs them.
// The worker's `sandbox` config is the most any job gets (limits) and all it
// gets (grants); a job payload is untrusted and only ever narrows it.
import { availableParallelism, hostname } from 'node:os';
import { MetricsTime, UnrecoverableError, Worker, type Job } from 'bullmq';
import { resolveConfig } from '../shared/config.js';
import { SandboxError, type ErrorCode } from '../shared/errors.js';
import type { Backend } from '../factory.js';
import type { SandboxConfig } from '../shared/types.js';
import { resolveConnection, validateQueueName, type QueueConnection } from './connection.js';
import { checkOptions, QueueError, toFailedReason, type QueueFailureCode } from './errors.js';
import { ceilingOf, grantLimits, type WorkerCeiling } from './limits.js';
import { DEFAULT_MODULE_CACHE_MB, LocalModules, moduleKey } from './modules.js';
import { DEFAULT_QUEUE } from './names.js';
import { resolvePayloadLimits, validatePayload, type PayloadLimits } from './payload.js';
import { encodeResult, type EncodedResult } from './result-codec.js';
import { SandboxSet } from './sandboxes.js';


export interface QueueWorkerOptions {
  /** Where Redis is: `redis://host:port` or BullMQ connection options. */
  connection: QueueConnection;
  /** Queue name. Default 'mimobox'. */
  queue?: string;
  /** Jobs this worker runs at once: the bound on its jobs in flight. Default: CPU count. */
  concurrency?: number;
  /** The worker's grants and its maximum limits (a SandboxConfig). */
  sandbox?: SandboxConfig;
  /** 'native', 'js' or 'auto' (default), as createSandbox. */
  backend?: Backend;
  /** Size limits on job payloads (args, stdin, env). */
  payloadLimits?: Partial<PayloadLimits>;
  /** Worker name, recorded on each job it processes (`job.processedBy`). Default: host:pid. */
  name?: string;
  /** BullMQ key prefix. Default 'bull'. */
  prefix?: string;
  /**
   * How long a job's lock lasts without renewal, in ms (BullMQ lockDuration). A worker that dies
   * mid-job leaves its jobs to others after about this long. Default 30000.
   */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died, in ms (BullMQ stalledInterval). Default 30000. */
  stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it fails. Default 1 (BullMQ's). */
  maxStalledCount?: number;
  /**
   * Disk bound on the worker's local module copies, in MiB: past it the least recently used
   * copies no job is running are deleted (copies in use may exceed it until their jobs end).
   * Default 1024.
   */
  moduleCacheMb?: number;
  /** Receives connection and processing errors of the worker (e.g. while Redis restarts). Default: ignored. */
  onError?: (error: Error) => void;
}

export interface QueueWorker {
  readonly name: string;
  readonly queue: string;
  /** The BullMQ Worker, for its events ('completed', 'failed', 'active', 'stalled', ...). */
  readonly bullWorker: Worker<unknown, EncodedResult>;
  /** Jobs running now. */
  readonly running: number;
  /** Resolves once connected to Redis and taking jobs. */
  waitUntilReady(): Promise<void>;
  /**
   * Stops taking jobs, lets the running ones finish, then frees the sandboxes. With
   * `{ force: true }` running guests are stopped at once and their jobs are left to other workers.
   */
  close(options?: { force?: boolean }): Promise<void>;
}

const WORKER_KEYS = [
  'connection', 'queue', 'concurrency', 'sandbox', 'backend', 'payloadLimits', 'name', 'prefix', 'lockDurationMs',
  'stalledIntervalMs', 'maxStalledCount', 'moduleCacheMb', 'onError',
];

/** Sandbox error codes that are the caller's doing: retrying the same job cannot help. */
const CALLER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CONFIG_INVALID', 'COMMAND_INVALID', 'DIR_NOT_FOUND', 'MODULE_NOT_FOUND', 'MODULE_INVALID', 'MODULE_TOO_LARGE',
  'MODULE_UNSUPPORTED', 'NO_ENTRY', 'IMPORT_MISSING',
]);

function positive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new QueueError('CONFIG_INVALID', `${field}: must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** A failure that ends the job: BullMQ does not retry an UnrecoverableError. */
function permanent(code: QueueFailureCode, message: string): UnrecoverableError {
  return new UnrecoverableError(toFailedReason(code, message));
}

function toJobError(e: unknown): Error {
  if (e instanceof QueueError) return permanent(e.code, e.message);
  if (e instanceof SandboxError) {
    // Anything else (QUEUE_TIMEOUT, MEMORY_BUDGET, DESTROYED, INTERNAL) is this worker's
    // trouble, not the job's: BullMQ retries it, on this worker or another.
    return CALLER_CODES.has(e.code) ? permanent(e.code, e.message) : new Error(toFailedReason(e.code, e.message));
  }
  return e instanceof Error ? e : new Error(String(e));
}

export function createQueueWorker(options: QueueWorkerOptions): QueueWorker {
  checkOptions(options, WORKER_KEYS);
  const queue = validateQueueName(options.queue ?? DEFAULT_QUEUE);
  const concurrency = positive('concurrency', options.concurrency, availableParallelism());
  const moduleCacheBytes = positive('moduleCacheMb', options.moduleCacheMb, DEFAULT_MODULE_CACHE_MB) * 1024 * 1024;
  const sandboxConfig = options.sandbox ?? {};
  // Validates the whole config now (a typo fails at start, not on the first job).
  const ceiling: WorkerCeiling = ceilingOf(resolveConfig(sandboxConfig, concurrency));
  const payloadLimits = resolvePayloadLimits(options.payloadLimits);
  const backend = options.backend ?? 'auto';
  const prefix = options.prefix ?? 'bull';
  const name = options.name ?? `${hostname()}:${process.pid}`;
  // Redis client names (CLIENT SETNAME) allow no spaces or control characters.
  if (typeof name !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(name)) {
    throw new QueueError('CONFIG_INVALID', `name: must be 1-100 printable characters without spaces, got ${JSON.stringify(name)}`);
  }
  const bullOptions = {
    connection: resolveConnection(options.connection),
    prefix,
    concurrency,
    name,
    lockDuration: positive('lockDurationMs', options.lockDurationMs, 30_000),
    stalledInterval: positive('stalledIntervalMs', options.stalledIntervalMs, 30_000),
    maxStalledCount: options.maxStalledCount === 0 ? 0 : positive('maxStalledCount', options.maxStalledCount, 1),
    metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
  };
  const sandboxes = new SandboxSet(sandboxConfig, backend, concurrency);
  // The default-limits sandbox, made now: an unavailable backend fails here, not per job.
  sandboxes.acquire(grantLimits({}, ceiling)).release();

  let bull: Worker<unknown, EncodedResult> | undefined;
  const modules = new LocalModules(async (sha256) => {
    const client = await bull!.client;
    return client.hget(moduleKey(prefix, queue, sha256), 'wasm');
  }, moduleCacheBytes);
  let running = 0;

  const processJob = async (job: Job<unknown, EncodedResult>): Promise<EncodedResult> => {
    running++;
    try {
      const valid = validatePayload(job.data, payloadLimits);
      const granted = grantLimits(valid.limits, ceiling);
      const local = await modules.acquire(valid.sha256);
      try {
        const lease = sandboxes.acquire(granted);
        try {
          const result = await lease.sandbox.execute([local.path, ...valid.args], { stdin: valid.stdin, env: valid.env });
          return encodeResult(result);
        } finally {
          lease.release();
        }
      } finally {
        local.release();
      }
    } catch (e) {
      throw toJobError(e);
    } finally {
      running--;
    }
  };

  bull = new Worker<unknown, EncodedResult>(queue, processJob, bullOptions);
  const onError = options.onError ?? (() => undefined);
  bull.on('error', (e) => onError(e));

  let closing: Promise<void> | undefined;
  const worker = bull;
  return {
    name,
    queue,
    bullWorker: worker,
    get running() {
      return running;
    },
    async waitUntilReady() {
      await worker.waitUntilReady();
    },
    close(closeOptions = {}) {
      closing ??= (async () => {
        const force = closeOptions.force === true;
        if (force) await sandboxes.destroyAll();
        await worker.close(force);
        await sandboxes.destroyAll();
        await modules.dispose();
      })();
      return closing;
    },
  };
}
