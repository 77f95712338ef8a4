// Typed errors. Each carries a stable `code`; messages say what to do.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'COMMAND_INVALID'
  | 'MODULE_NOT_FOUND'
  | 'MODULE_INVALID'
  | 'MODULE_TOO_LARGE'
  | 'MODULE_UNSUPPORTED'
  | 'NO_ENTRY'
  | 'IMPORT_MISSING'
  | 'DIR_NOT_FOUND'
  | 'ABORTED'
  | 'DESTROYED'
  | 'QUEUE_TIMEOUT'
  | 'MEMORY_BUDGET'
  | 'SESSION_ENDED'
  | 'NATIVE_UNAVAILABLE'
  /** The running Node.js is older than the package's floor (shared/node-floor.ts). */
  | 'NODE_UNSUPPORTED'
  | 'INTERNAL';

export class SandboxError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A config field or execute option is wrong; `field` names it. */
export class ConfigError extends SandboxError {
  readonly field: string;
  constructor(field: string, message: string, code: ErrorCode = 'CONFIG_INVALID') {
    super(code, `${field}: ${message}`);
    this.field = field;
  }
}

/** The module cannot run: missing, not wasm, too large, no entry point, unknown import. */
export class ModuleError extends SandboxError {}

/** The execute was stopped by its AbortSignal or by destroy(). `name` is 'AbortError'. */
export class AbortError extends SandboxError {
  constructor(message = abortedText('execute', undefined), code: ErrorCode = 'ABORTED') {
    super(code, message);
    this.name = 'AbortError';
  }
}

/** The sandbox could not run the execute for a reason of its own (queue, budget, destroyed). */
export class ResourceError extends SandboxError {}

/** A session call after the session ended; `reason` says why it ended. */
export class SessionEndedError extends SandboxError {
  readonly reason: string;
  constructor(reason: string, message = `the session has ended (${reason}): open a new one`) {
    super('SESSION_ENDED', message);
    this.reason = reason;
  }
}

// ---- the texts of aborted, destroyed and queue-timeout errors ----------------
// Written only here, so both backends (and every path of each) say the same words for
// the same event. The native backend's TS layer maps the addon's DESTROYED, and an ABORTED
// its signal caused, to these; src-rs copies the texts of the errors that reach callers as
// it wrote them (queue timeouts, the memory-budget wait).

/** What waited in a queue. */
export type QueueWaiter = 'execute' | 'session call' | 'session open';

/** What was aborted: a run, or a queue client's wait for a job's result. */
export type AbortedWhat = QueueWaiter | `wait for job ${string}`;

/**
 * What an abort left behind, when the caller needs to know: a session call aborted before it
 * started leaves its session open; one aborted while it ran ends its session.
 */
export type AbortAftermath = 'session goes on' | 'session ended';

const AFTERMATH_TEXT: Readonly<Record<AbortAftermath, string>> = {
  'session goes on': '; it had not started, so the session goes on',
  'session ended': '; the session has ended',
};

function abortedText(what: AbortedWhat, reason: unknown, aftermath?: AbortAftermath): string {
  const tail = aftermath === undefined ? '' : AFTERMATH_TEXT[aftermath];
  return `the ${what} was aborted: ${String(reason ?? 'no reason given')}${tail}`;
}

/** DESTROYED: the sandbox was destroyed before or while this ran. */
export function destroyedError(): AbortError {
  return new AbortError('this sandbox was destroyed: create a new one', 'DESTROYED');
}

/** ABORTED by a signal whose `reason` (any value; absent is "no reason given") is quoted. */
export function abortedError(what: AbortedWhat, reason: unknown, aftermath?: AbortAftermath): AbortError {
  return new AbortError(abortedText(what, reason, aftermath), 'ABORTED');
}

/**
 * QUEUE_TIMEOUT (or MEMORY_BUDGET, for a wait for the process memory budget): `what` waited
 * `waitedMs` for `forWhat` (a free slot, a worker thread, N MiB of ...); `remedy` says what to raise.
 */
export function queueTimeoutError(
  what: QueueWaiter, waitedMs: number, forWhat: string, remedy: string,
  code: 'QUEUE_TIMEOUT' | 'MEMORY_BUDGET' = 'QUEUE_TIMEOUT',
): ResourceError {
  return new ResourceError(code, `the ${what} waited ${Math.round(waitedMs)} ms for ${forWhat}: ${remedy}`);
}

/** A bug in mimobox-wasm (a caught Rust panic, an unexpected state). Please report it. */
export class InternalError extends SandboxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
  }
}

const MODULE_CODES: ReadonlySet<ErrorCode> = new Set([
  'MODULE_NOT_FOUND',
  'MODULE_INVALID',
  'MODULE_TOO_LARGE',
  'MODULE_UNSUPPORTED',
  'NO_ENTRY',
  'IMPORT_MISSING',
]);

/** Builds the typed error for a code, as both backends report them. */
export function errorFromCode(code: ErrorCode, message: string): SandboxError {
  if (MODULE_CODES.has(code)) return new ModuleError(code, message);
  if (code === 'CONFIG_INVALID' || code === 'COMMAND_INVALID' || code === 'DIR_NOT_FOUND') {
    return new ConfigError(code === 'COMMAND_INVALID' ? 'cmd' : 'config', message, code);
  }
  if (code === 'ABORTED' || code === 'DESTROYED') return new AbortError(message, code);
  if (code === 'SESSION_ENDED') return new SessionEndedError('error', message);
  if (code === 'QUEUE_TIMEOUT' || code === 'MEMORY_BUDGET' || code === 'NATIVE_UNAVAILABLE' || code === 'NODE_UNSUPPORTED') {
    return new ResourceError(code, message);
  }
  return new InternalError(message);
}
