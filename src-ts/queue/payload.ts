// The job payload as it travels through Redis, and its validation. A worker
// treats every payload as untrusted input: anyone who can add a job to the
// queue chooses it. Each field is checked for type and size before anything
// runs; a bad one fails that job with a typed code and the worker goes on.
// The client runs the same checks before submitting, to fail fast.
import { QueueError } from './errors.js';

/** Payload format version; a worker refuses any other. */
export const PAYLOAD_VERSION = 1;

/** Limits a job may ask for. Each must be at most what the worker grants. */
export interface JobLimits {
  /** Wall-clock limit of this job's execute, in ms. Default: the worker's. */
  timeoutMs?: number;
  /** Memory cap, in MiB. Default: the worker's. */
  memoryLimitMb?: number;
  /** Native: exact fuel budget; `null` = no metering (only on a worker without fuel). Default: the worker's. */
  fuel?: number | null;
  /** Cap on captured stdout and on stderr, each, in bytes. Default: the worker's. */
  maxOutputBytes?: number;
}

/** What a job's data holds in Redis (BullMQ stores it as JSON). */
export interface JobPayload {
  v: typeof PAYLOAD_VERSION;
  /** Lowercase hex SHA-256 of the module bytes, stored with putModule. */
  module: string;
  args: string[];
  /** The guest's stdin, base64. */
  stdin: string;
  env: Record<string, string>;
  limits: JobLimits;
}

/** Size limits a worker puts on payloads (the client checks the same defaults). */
export interface PayloadLimits {
  /** Most arguments (argv[1..]). Default 1024. */
  maxArgs: number;
  /** Most bytes (UTF-8) of all arguments together. Default 1 MiB. */
  maxArgsBytes: number;
  /** Most bytes of stdin. Default 16 MiB. */
  maxStdinBytes: number;
  /** Most environment variables. Default 256. */
  maxEnvEntries: number;
  /** Most bytes (UTF-8) of all `KEY=value` entries together. Default 64 KiB. */
  maxEnvBytes: number;
}

export const DEFAULT_PAYLOAD_LIMITS: Readonly<PayloadLimits> = Object.freeze({
  maxArgs: 1024,
  maxArgsBytes: 1024 * 1024,
  maxStdinBytes: 16 * 1024 * 1024,
  maxEnvEntries: 256,
  maxEnvBytes: 64 * 1024,
});

/** A payload that passed validation. */
export interface ValidJob {
  sha256: string;
  args: string[];
  stdin: Buffer;
  env: Record<string, string>;
  limits: JobLimits;
}

const PAYLOAD_KEYS: ReadonlySet<string> = new Set(['v', 'module', 'args', 'stdin', 'env', 'limits']);
const LIMIT_KEYS: ReadonlySet<string> = new Set(['timeoutMs', 'memoryLimitMb', 'fuel', 'maxOutputBytes']);
const SHA256_HEX = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function invalid(message: string): QueueError {
  return new QueueError('PAYLOAD_INVALID', message);
}

function tooLarge(message: string): QueueError {
  return new QueueError('PAYLOAD_TOO_LARGE', message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

function validateArgs(value: unknown, limits: PayloadLimits): string[] {
  if (!Array.isArray(value)) throw invalid(`args: must be an array of strings, got ${kind(value)}`);
  if (value.length > limits.maxArgs) throw tooLarge(`args: ${value.length} arguments, over the limit of ${limits.maxArgs}`);
  let bytes = 0;
  value.forEach((a, i) => {
    if (typeof a !== 'string') throw invalid(`args[${i}]: must be a string, got ${kind(a)}`);
    if (a.includes('\0')) throw invalid(`args[${i}]: contains a NUL byte`);
    bytes += Buffer.byteLength(a, 'utf8');
    if (bytes > limits.maxArgsBytes) throw tooLarge(`args: over the limit of ${limits.maxArgsBytes} bytes in all`);
  });
  return value as string[];
}

function validateStdin(value: unknown, limits: PayloadLimits): Buffer {
  if (typeof value !== 'string') throw invalid(`stdin: must be a base64 string, got ${kind(value)}`);
  // Checked on the encoded length first, so a huge string is refused before it is decoded.
  if (value.length > Math.ceil(limits.maxStdinBytes / 3) * 4) {
    throw tooLarge(`stdin: over the limit of ${limits.maxStdinBytes} bytes`);
  }
  if (value.length % 4 !== 0 || !BASE64.test(value)) throw invalid('stdin: is not valid base64');
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length > limits.maxStdinBytes) throw tooLarge(`stdin: ${bytes.length} bytes, over the limit of ${limits.maxStdinBytes}`);
  return bytes;
}

function validateEnv(value: unknown, limits: PayloadLimits): Record<string, string> {
  if (!isPlainObject(value)) throw invalid(`env: must be an object of strings, got ${kind(value)}`);
  const entries = Object.entries(value);
  if (entries.length > limits.maxEnvEntries) {
    throw tooLarge(`env: ${entries.length} variables, over the limit of ${limits.maxEnvEntries}`);
  }
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of entries) {
    if (k.length === 0 || k.includes('=') || k.includes('\0')) {
      throw invalid(`env: variable names must be non-empty and contain no "=" or NUL, got ${JSON.stringify(k.slice(0, 64))}`);
    }
    if (typeof v !== 'string') throw invalid(`env.${k}: must be a string, got ${kind(v)}`);
    if (v.includes('\0')) throw invalid(`env.${k}: contains a NUL byte`);
    bytes += Buffer.byteLength(k, 'utf8') + 1 + Buffer.byteLength(v, 'utf8');
    if (bytes > limits.maxEnvBytes) throw tooLarge(`env: over the limit of ${limits.maxEnvBytes} bytes in all`);
    out[k] = v;
  }
  return out;
}

function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalid(`limits.${field}: must be a positive integer, got ${typeof value === 'number' ? String(value) : kind(value)}`);
  }
  return value;
}

export function validateLimits(value: unknown): JobLimits {
  if (!isPlainObject(value)) throw invalid(`limits: must be an object, got ${kind(value)}`);
  for (const key of Object.keys(value)) {
    if (!LIMIT_KEYS.has(key)) throw invalid(`limits.${key}: is not a known limit (timeoutMs, memoryLimitMb, fuel, maxOutputBytes)`);
  }
  const out: JobLimits = {};
  if (value.timeoutMs !== undefined) out.timeoutMs = positiveInteger('timeoutMs', value.timeoutMs);
  if (value.memoryLimitMb !== undefined) out.memoryLimitMb = positiveInteger('memoryLimitMb', value.memoryLimitMb);
  if (value.maxOutputBytes !== undefined) out.maxOutputBytes = positiveInteger('maxOutputBytes', value.maxOutputBytes);
  if (value.fuel === null) out.fuel = null;
  else if (value.fuel !== undefined) out.fuel = positiveInteger('fuel', value.fuel);
  return out;
}

/** Checks a job's data; throws a QueueError (PAYLOAD_INVALID / PAYLOAD_TOO_LARGE) naming the field. */
export function validatePayload(data: unknown, limits: PayloadLimits = DEFAULT_PAYLOAD_LIMITS): ValidJob {
  if (!isPlainObject(data)) throw invalid(`the job data must be an object, got ${kind(data)}`);
  for (const key of Object.keys(data)) {
    if (!PAYLOAD_KEYS.has(key)) throw invalid(`${key}: is not a known payload field (a job cannot add grants or options)`);
  }
  if (data.v !== PAYLOAD_VERSION) {
    throw invalid(`v: payload version ${JSON.stringify(data.v)} is not supported by this worker (expected ${PAYLOAD_VERSION})`);
  }
  if (!isSha256Hex(data.module)) throw invalid('module: must be the lowercase hex SHA-256 of a module stored with putModule');
  return {
    sha256: data.module,
    args: validateArgs(data.args, limits),
    stdin: validateStdin(data.stdin, limits),
    env: validateEnv(data.env, limits),
    limits: validateLimits(data.limits),
  };
}

/** Checks a worker's payloadLimits option, filling in defaults. */
export function resolvePayloadLimits(value: Partial<PayloadLimits> | undefined): PayloadLimits {
  if (value === undefined) return { ...DEFAULT_PAYLOAD_LIMITS };
  if (!isPlainObject(value)) throw new QueueError('CONFIG_INVALID', `payloadLimits: must be an object, got ${kind(value)}`);
  const out: PayloadLimits = { ...DEFAULT_PAYLOAD_LIMITS };
  for (const [k, v] of Object.entries(value)) {
    if (!(k in DEFAULT_PAYLOAD_LIMITS)) throw new QueueError('CONFIG_INVALID', `payloadLimits.${k}: is not a known field`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new QueueError('CONFIG_INVALID', `payloadLimits.${k}: must be a positive integer`);
    }
    out[k as keyof PayloadLimits] = v;
  }
  return out;
}
