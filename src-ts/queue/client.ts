// createQueueClient: submits sandbox jobs to a BullMQ queue and waits for
// their results. Modules go to Redis once (putModule); each job names its
// module by SHA-256 and carries only args, stdin, env and limits.
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import { abortedError } from '../shared/errors.js';
import { resolveConnection, validateQueueName, type QueueConnection } from './connection.js';
import { checkOptions, fromFailedReason, QueueError } from './errors.js';
import { moduleBytes, putModule, type ModuleRef } from './modules.js';
import {
  DEFAULT_PAYLOAD_LIMITS, isSha256Hex, PAYLOAD_VERSION, resolvePayloadLimits, validatePayload, type JobLimits, type JobPayload, type PayloadLimits,
} from './payload.js';
import { decodeResult, type EncodedResult, type QueueResult } from './result-codec.js';
import { lastEventId, ResultWaiters } from './waiters.js';
import { DEFAULT_QUEUE, JOB_NAME } from './names.js';

export interface QueueClientOptions {
  /** Where Redis is: `redis://host:port` or BullMQ connection options. */
  connection: QueueConnection;
  /** Queue name. Default 'mimobox'. */
  queue?: string;
  /** BullMQ key prefix. Default 'bull'. */
  prefix?: string;
  /** Tries per job when a worker fails for its own reasons (dies, loses Redis, runs out of budget). Default 3. */
  attempts?: number;
  /** How long finished jobs (and so their results, for `jobId` retries) are kept, in seconds. Default 3600. */
  keepResultsSecs?: number;
  /** Most finished jobs kept per state (completed, failed). Default 10000. */
  keepResultsCount?: number;
  /** How often a result whose event did not arrive is looked up directly, in ms. Default 5000. */
  pollIntervalMs?: number;
  /** Receives connection errors (e.g. while Redis restarts). Default: ignored. */
  onError?: (error: Error) => void;
  /** Size limits checked before submitting; set them as the workers' `payloadLimits`. Default: the workers' defaults. */
  payloadLimits?: Partial<PayloadLimits>;
}

/** One sandbox job: the module (from putModule) and what `sandbox.execute` would take. */
export interface QueueExecuteRequest {
  module: ModuleRef | string;
  args?: string[];
  stdin?: Uint8Array | string;
  env?: Record<string, string>;
  /** At most the worker's limits; more fails the job with LIMIT_EXCEEDS_WORKER. */
  limits?: JobLimits;
}

export interface QueueExecuteOptions {
  /**
   * Idempotency key: submitting a job with the id of one still kept returns that job's result
   * (the first submission's) instead of running again. 1-128 of A-Z a-z 0-9 _ . -
   */
  jobId?: string;
  /** Stops waiting (rejects with AbortError). A job of ours still waiting in the queue is removed. */
  signal?: AbortSignal;
}

export interface QueueStats {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export interface QueueClient {
  readonly queue: string;
  /** The BullMQ Queue, for its own API (metrics, pause, clean, ...). */
  readonly bullQueue: Queue;
  /** Stores a module (path or bytes) in Redis under its SHA-256, once. */
  putModule(source: string | Uint8Array): Promise<ModuleRef>;
  /** Runs one job on some worker; resolves with its SandboxResult (Buffers) and job id. */
  execute(request: QueueExecuteRequest, options?: QueueExecuteOptions): Promise<QueueResult>;
  /** Jobs per state, from BullMQ. */
  stats(): Promise<QueueStats>;
  close(): Promise<void>;
}

const JOB_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const CLIENT_KEYS = ['connection', 'queue', 'prefix', 'attempts', 'keepResultsSecs', 'keepResultsCount', 'pollIntervalMs', 'onError', 'payloadLimits'];

function positive(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new QueueError('CONFIG_INVALID', `${field}: must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Builds the payload and runs the workers' own checks on it. */
export function buildPayload(request: QueueExecuteRequest, limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS): JobPayload {
  if (request === null || typeof request !== 'object') throw new QueueError('PAYLOAD_INVALID', 'request: must be an object');
  const ref = request.module;
  const sha256 = typeof ref === 'string' ? ref : ref !== null && typeof ref === 'object' ? ref.sha256 : undefined;
  if (!isSha256Hex(sha256)) throw new QueueError('PAYLOAD_INVALID', 'module: pass the ModuleRef returned by putModule (or its sha256)');
  const stdin = request.stdin;
  let stdinBytes: Buffer;
  if (stdin === undefined) stdinBytes = Buffer.alloc(0);
  else if (typeof stdin === 'string') stdinBytes = Buffer.from(stdin, 'utf8');
  else if (stdin instanceof Uint8Array) stdinBytes = Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength);
  else throw new QueueError('PAYLOAD_INVALID', 'stdin: must be a Buffer, Uint8Array or string');
  const payload: JobPayload = {
    v: PAYLOAD_VERSION,
    module: sha256,
    args: request.args ?? [],
    stdin: stdinBytes.toString('base64'),
    env: request.env ?? {},
    limits: request.limits ?? {},
  };
  validatePayload(payload, limits);
  return payload;
}

export function createQueueClient(options: QueueClientOptions): QueueClient {
  checkOptions(options, CLIENT_KEYS);
  const name = validateQueueName(options.queue ?? DEFAULT_QUEUE);
  const connection = resolveConnection(options.connection);
  const prefix = options.prefix ?? 'bull';
  const jobOptions: JobsOptions = {
    attempts: positive('attempts', options.attempts, 3),
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { age: positive('keepResultsSecs', options.keepResultsSecs, 3600), count: positive('keepResultsCount', options.keepResultsCount, 10_000) },
    removeOnFail: { age: positive('keepResultsSecs', options.keepResultsSecs, 3600), count: positive('keepResultsCount', options.keepResultsCount, 10_000) },
  };
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs, 5000);
  const payloadLimits = resolvePayloadLimits(options.payloadLimits);
  const onError = options.onError ?? (() => undefined);
  const queue = new Queue(name, { connection, prefix });
  queue.on('error', (e) => onError(e));

  const waiters = new ResultWaiters(pollIntervalMs, async (jobId) => {
    const state = await queue.getJobState(jobId);
    if (state === 'completed' || state === 'failed') {
      const job = await queue.getJob(jobId);
      if (job === undefined) return undefined;
      if (state === 'completed') return { ok: true, value: decodeResult(job.returnvalue as EncodedResult, jobId) };
      return { ok: false, error: fromFailedReason(job.failedReason, jobId) };
    }
    if (state === 'unknown') {
      return { ok: false, error: new QueueError('JOB_FAILED', `job ${jobId} is gone from the queue (removed, or its result expired)`, { jobId }) };
    }
    return undefined;
  });

  let events: Promise<QueueEvents> | undefined;
  const startEvents = (): Promise<QueueEvents> => {
    events ??= (async () => {
      // Events are read from the stream's current end, found before any job of ours is added,
      // so none of our jobs' events can fall between "added" and "listening".
      const from = await lastEventId(await queue.client, queue.keys.events!);
      const qe = new QueueEvents(name, { connection, prefix, lastEventId: from });
      qe.on('error', (e) => onError(e));
      qe.on('completed', ({ jobId, returnvalue }) => {
        waiters.settle(jobId, { ok: true, value: decodeResult(returnvalue, jobId) });
      });
      qe.on('failed', ({ jobId, failedReason }) => {
        waiters.settle(jobId, { ok: false, error: fromFailedReason(failedReason, jobId) });
      });
      await qe.waitUntilReady();
      return qe;
    })();
    return events;
  };

  let closed = false;
  const assertOpen = () => {
    if (closed) throw new QueueError('QUEUE_UNAVAILABLE', 'this queue client was closed: create a new one');
  };

  return {
    queue: name,
    bullQueue: queue,
    async putModule(source) {
      assertOpen();
      const bytes = await moduleBytes(source);
      return putModule(await queue.client, prefix, name, bytes);
    },
    async execute(request, execOptions = {}) {
      assertOpen();
      const payload = buildPayload(request, payloadLimits);
      const { jobId: givenId, signal } = execOptions;
      if (givenId !== undefined && (typeof givenId !== 'string' || !JOB_ID.test(givenId))) {
        throw new QueueError('PAYLOAD_INVALID', 'jobId: must be 1-128 characters of A-Z a-z 0-9 _ . -');
      }
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw new QueueError('PAYLOAD_INVALID', 'signal: must be an AbortSignal');
      if (signal?.aborted) throw abortedError('execute', signal.reason);
      const jobId = givenId ?? randomUUID();
      await startEvents();
      // Closed while the events connection started: nothing was added.
      assertOpen();
      const result = waiters.wait(jobId, signal);
      // Not awaited: the result may settle first (abort, close), and must not wait for Redis.
      // With an existing jobId BullMQ adds nothing and returns the existing job.
      queue.add(JOB_NAME, payload, { ...jobOptions, jobId }).then(
        () => {
          // A job that already finished (a repeated jobId) sends no new event: look it up.
          waiters.check(jobId);
          if (signal !== undefined && givenId === undefined) {
            // Our own job, unknown to anyone else: take it off the queue if nobody started it.
            const remove = () => void queue.remove(jobId).catch(() => undefined);
            if (signal.aborted) remove();
            else signal.addEventListener('abort', remove, { once: true });
          }
        },
        (e: Error) => {
          waiters.settle(jobId, { ok: false, error: new QueueError('QUEUE_UNAVAILABLE', `cannot add the job: ${e.message}`, { jobId, cause: e }) });
        },
      );
      return result;
    },
    async stats() {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
      return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
    },
    async close() {
      if (closed) return;
      closed = true;
      waiters.closeAll(new QueueError('QUEUE_UNAVAILABLE', 'the queue client was closed while waiting for this result'));
      const qe = events ? await events.catch(() => undefined) : undefined;
      await Promise.all([qe?.close(), queue.close()]);
    },
  };
}
