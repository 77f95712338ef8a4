// Typed failures of queued jobs. A job fails only for a caller's mistake
// (a malformed payload, limits the worker does not grant, a module that is
// unknown, corrupt or cannot run); whatever the guest does is a result. The
// code travels through Redis as the prefix of BullMQ's `failedReason`
// ("CODE: message") and is parsed back into a QueueError on the client.
import type { ErrorCode } from '../shared/errors.js';

export type QueueErrorCode =
  /** The job payload has a wrong type, a missing or an unknown field. */
  | 'PAYLOAD_INVALID'
  /** The payload is over a size limit (args, stdin, env). */
  | 'PAYLOAD_TOO_LARGE'
  /** The job asked for more time, memory, fuel or output than the worker grants. */
  | 'LIMIT_EXCEEDS_WORKER'
  /** No module with this SHA-256 is stored in Redis: putModule it first. */
  | 'MODULE_UNKNOWN'
  /** The bytes stored under a module's SHA-256 do not hash to it. */
  | 'MODULE_HASH_MISMATCH'
  /** The job failed for a reason without a code (e.g. it stalled too often). */
  | 'JOB_FAILED'
  /** Redis or the queue itself failed (connection closed, client closed). */
  | 'QUEUE_UNAVAILABLE';

/** Every code a queued execute can fail with: the queue's own and the sandbox's. */
export type QueueFailureCode = QueueErrorCode | ErrorCode;

const KNOWN_CODES: ReadonlySet<string> = new Set<QueueFailureCode>([
  'PAYLOAD_INVALID', 'PAYLOAD_TOO_LARGE', 'LIMIT_EXCEEDS_WORKER', 'MODULE_UNKNOWN', 'MODULE_HASH_MISMATCH',
  'JOB_FAILED', 'QUEUE_UNAVAILABLE',
  'CONFIG_INVALID', 'COMMAND_INVALID', 'MODULE_NOT_FOUND', 'MODULE_INVALID', 'MODULE_TOO_LARGE', 'MODULE_UNSUPPORTED', 'NO_ENTRY',
  'IMPORT_MISSING', 'DIR_NOT_FOUND', 'ABORTED', 'DESTROYED', 'QUEUE_TIMEOUT', 'MEMORY_BUDGET', 'NATIVE_UNAVAILABLE',
  'NODE_UNSUPPORTED', 'INTERNAL',
]);

export class QueueError extends Error {
  readonly code: QueueFailureCode;
  /** The BullMQ job id, when the error is about a submitted job. */
  readonly jobId: string | undefined;
  constructor(code: QueueFailureCode, message: string, options: { jobId?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QueueError';
    this.code = code;
    this.jobId = options.jobId;
  }
}

/** The failedReason a worker stores for a typed failure. */
export function toFailedReason(code: QueueFailureCode, message: string): string {
  return `${code}: ${message}`;
}

/** Reads a failedReason back; one without a known code prefix is JOB_FAILED. */
export function fromFailedReason(reason: string | undefined, jobId: string): QueueError {
  const text = reason ?? 'the job failed without a reason';
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(text);
  if (m && KNOWN_CODES.has(m[1]!)) return new QueueError(m[1] as QueueFailureCode, m[2]!, { jobId });
  return new QueueError('JOB_FAILED', text, { jobId });
}

/** Checks that options is an object with only known keys (a misspelt option fails, as in SandboxConfig). */
export function checkOptions(options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new QueueError('CONFIG_INVALID', 'options: must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new QueueError('CONFIG_INVALID', `${key}: is not a known option (check its spelling)`);
  }
  if (!('connection' in options)) throw new QueueError('CONFIG_INVALID', 'connection: is required (a redis:// URL or connection options)');
}
