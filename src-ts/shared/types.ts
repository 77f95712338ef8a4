// Public types shared by every backend.

/** A host directory exposed to the guest. A bare string is preopened under its own path. */
export type DirGrant = string | { host: string; guest: string };

/** Receives the library's diagnostic messages ("compiled and cached", ...). Silent by default. */
export type Logger = (level: 'info' | 'warn', message: string) => void;

export interface SandboxConfig {
  /** Cap on the guest's linear memory, in MiB. Default 64. */
  memoryLimitMb?: number;
  /** Wall-clock limit per execute, in whole seconds. Default 30. Use either this or `timeoutMs`. */
  timeoutSecs?: number;
  /** Wall-clock limit per execute, in milliseconds. */
  timeoutMs?: number;
  /**
   * Exact instruction budget per execute (deterministic, the same count on both backends; `fuelConsumed` reports
   * it). Unset or `null`: no metering, the wall-clock timeout bounds the guest and its code runs at full speed
   * (metering costs interpreters 15–30 %, see docs/limits.md#fuel).
   */
  fuel?: number | null;
  /** Directories the guest may read but never change. */
  fsReadonly?: DirGrant[];
  /** Directories the guest may read and write. */
  fsReadwrite?: DirGrant[];
  /** Extra environment variables for the guest (added to the defaults). */
  env?: Record<string, string>;
  /** `false` leaves only `env` (no HOME/PATH/TERM/SANDBOX defaults). Default true. */
  defaultEnv?: boolean;
  /** Accepted for compatibility; the Wasm backends never have a network. `false` adds a warning. */
  denyNetwork?: boolean;
  /** Cap on captured stdout and on stderr, each, in bytes. Default 1 MiB, at most 64 MiB. */
  maxOutputBytes?: number;
  /** Native only: keep compiled modules (.cwasm) on disk. Default true. */
  cache?: boolean;
  /** Native only: where the compiled-module cache lives (absolute path). */
  cacheDir?: string;
  /** How many executes of this sandbox run at once; the rest queue. Default: CPU count. */
  maxConcurrency?: number;
  /** How long an execute may wait in the queue before it fails with `QUEUE_TIMEOUT`, in ms. Default: no limit. */
  queueTimeoutMs?: number;
  /**
   * Native only: wasmtime's pooling instance allocator. `{ maxInstances }` sets how many instances
   * of this sandbox's engine may exist at once (more wait for a slot); `false` allocates on demand.
   * Default: pooling with 256 slots (address space is reserved up front, memory is not).
   */
  pool?: false | { maxInstances?: number };
  /**
   * Native only: start each execute on the calling thread for a bounded slice (0.5–1 ms of guest
   * code, bounded by the epoch, and 1 ms counted at host calls; WASI calls whose cost the guest
   * sets move to the workers before they run). A guest that finishes within it resolves without a
   * hand-off to a worker thread; anything longer moves to the workers mid-run. Only for modules
   * with at most 1 MiB of data segments, whose starts tend to finish within the slice, and while no
   * other execute of the process is running or awaited by its caller (under load the calling thread
   * is better left to start and resolve executes). Default
   * true; `false` runs every execute on a worker from the start.
   */
  inline?: boolean;
  /**
   * Deepest wasm stack a guest may use, in KiB. Default 512; 64–16384. Interpreters need more for deep
   * C recursion (CPython: 1024 or more; its reference host uses 8192). Overflow is `trap: 'stack_overflow'`.
   */
  stackLimitKb?: number;
  /** Largest module accepted, in MiB. Default 256; 1–1024. Larger is `ModuleError` `MODULE_TOO_LARGE`. */
  maxModuleMb?: number;
  /**
   * What to do with function imports the sandbox does not provide. `'error'` (default): the module does
   * not start (`ModuleError` `IMPORT_MISSING`, naming it). `'trap'`: each is linked as a function that
   * traps when called, naming the import, so modules that only reference them still run.
   */
  unknownImports?: 'error' | 'trap';
  /**
   * Serves the guest's `host.call` import (see `HostCall`). Without it, `host.call` answers -1 ("no host
   * here") to modules that import it. A session may bind its own (`SessionOptions.hostCall`).
   */
  hostCall?: HostCall;
  /** Receives diagnostics. `MIMOBOX_LOG=info|warn` turns on a stderr logger when none is given. */
  logger?: Logger;
  /** Accepted and ignored by the Wasm backends (they have no syscalls to filter). */
  seccompProfile?: string;
  /** Accepted and ignored by the Wasm backends (a guest cannot fork). */
  allowFork?: boolean;
  /** Accepted and ignored by the Wasm backends (a guest has no network). */
  allowedHttpDomains?: string[];
}

export interface ExecuteOptions {
  /** Bytes the guest reads on stdin. Default: empty. */
  stdin?: Uint8Array | string;
  /** Environment variables for this execute, merged over the sandbox's. */
  env?: Record<string, string>;
  /** Aborting stops the guest at once and rejects with an error named `AbortError`. */
  signal?: AbortSignal;
  /**
   * Run this exported function instead of `_start`/`main` (WASI reactors: if the module exports
   * `_initialize`, it runs first). An entry returning i32 gives `exitCode`; `proc_exit(n)` still gives `n`.
   * A missing or wrongly typed entry is `ModuleError` `NO_ENTRY`, listing the function exports.
   */
  entry?: string;
}

/** The limits a guest can be stopped at. */
export type LimitKind = 'wall_clock' | 'fuel' | 'memory' | 'table' | 'stack';

/** Names of trap kinds. `memory` covers a refused memory.grow and an out-of-bounds access. */
export type TrapKind =
  | 'memory'
  | 'unreachable'
  | 'stack_overflow'
  | 'integer_divide_by_zero'
  | 'integer_overflow'
  | 'bad_conversion_to_integer'
  | 'indirect_call_to_null'
  | 'bad_signature'
  | 'table_out_of_bounds'
  | 'null_reference'
  | 'unaligned_atomic'
  | 'other';

export interface SandboxResult {
  /** Captured stdout, at most the output cap. */
  stdout: Buffer;
  /** Captured stderr, at most the output cap. */
  stderr: Buffer;
  /** The guest's exit code; `null` when it timed out or trapped (other than on memory). */
  exitCode: number | null;
  /** True when the wall-clock deadline or the fuel budget stopped the guest. */
  timedOut: boolean;
  /** Set when the guest trapped. */
  trap?: TrapKind;
  /**
   * Which limit stopped the guest, when one did: `'wall_clock'` (the timeout), `'fuel'` (the fuel
   * budget), `'memory'` (memoryLimitMb), `'table'` (table growth), `'stack'` (stackLimitKb). Decide
   * on this field, never on `error`'s text.
   */
  limit?: LimitKind;
  /** Human-readable reason when the guest did not end normally. */
  error?: string;
  /** Wall time of the execute (instantiate + run), in ms. */
  elapsedMs: number;
  /** Fuel used, on both backends, when the sandbox has an exact `fuel` budget (or a session call its own). */
  fuelConsumed?: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Total bytes the guest wrote to stdout, kept or dropped. */
  stdoutBytes: number;
  /** Total bytes the guest wrote to stderr, kept or dropped. */
  stderrBytes: number;
  /** Things the caller should know (ignored config fields, no network, fallbacks). */
  warnings: string[];
  /** Which backend ran it. */
  backend: 'native' | 'js';
  /** Messages of the `hostCall` errors during this execute (each answered the guest -2). */
  hostCallFaults?: string[];
}

export interface Sandbox {
  execute(cmd: string[], opts?: ExecuteOptions): Promise<SandboxResult>;
  /**
   * Instantiates `module` (a path or its bytes) once and keeps it alive for `session.call`s. If the
   * module exports `_initialize`, it runs first, under the sandbox's timeout. `destroy()` ends every
   * session of the sandbox.
   */
  openSession(module: string | Uint8Array, options?: SessionOptions): Promise<Session>;
  destroy(): Promise<void>;
}

/** Cap on a `host.call` request and on its answer, each, in bytes. */
export const HOST_CALL_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A Node function bound to the guest's `host.call(ptr, len, out_ptr_ptr, out_len_ptr) -> i32` import.
 * It gets the request bytes and answers with bytes, which the sandbox places in guest memory through
 * the guest's `host_alloc(len) -> ptr` export (the guest then sees 0). It runs on the JS thread while
 * the guest waits; the execute's deadline and abort still hold while it runs. Returning `null`
 * answers -1 ("no host here"); throwing or rejecting answers -2 ("fault") and the error's message is
 * recorded in `result.hostCallFaults`, never passed to the guest. Requests and answers are capped at
 * `HOST_CALL_MAX_BYTES` (16 MiB) each; past the cap the guest gets -2 and the fault is recorded.
 */
export type HostCall = (request: Buffer) => HostAnswer | Promise<HostAnswer>;
/** What a `HostCall` answers: bytes (a string is sent as UTF-8), or `null` for "no host here". */
export type HostAnswer = Uint8Array | string | null;

/** The result of one session call: the execute's result plus the export's own return value. */
export interface SessionCallResult extends SandboxResult {
  /** The export's i32 result; `null` when it returns nothing or did not return (trap, timeout, exit). */
  returnValue: number | null;
  /** Set when this call ended the session (a trap, a timeout, `proc_exit`, memory): why. */
  sessionEnded?: SessionEndReason;
}

/** Why a session ended. */
export type SessionEndReason =
  | 'closed' | 'idle' | 'lifetime' | 'timeout' | 'trap' | 'exit' | 'aborted' | 'destroyed' | 'quit' | 'error';

export interface SessionOptions {
  /** Arguments after argv[0] (the module's name) that the instance sees for its whole life. */
  args?: string[];
  /** Environment variables merged over the sandbox's, for the instance's whole life. */
  env?: Record<string, string>;
  /** End the session after this long without a call, in ms. Default: no idle bound. */
  idleMs?: number;
  /** End the session this long after it opened, in ms; a call running then is stopped. Default: none. */
  lifetimeMs?: number;
  /** Serves `host.call` for this session (over the sandbox's `hostCall`). */
  hostCall?: HostCall;
}

export interface SessionCallOptions {
  /**
   * Bytes written into guest memory at `alloc(len)` before the call; the export is then called as
   * `(ptr, len)`. Without input the export is called with no arguments.
   */
  input?: Uint8Array | string;
  /** The guest's allocator export for `input`. Default `host_alloc`. */
  alloc?: string;
  /** This call's wall-clock limit, in ms. Default: the sandbox's timeout. */
  timeoutMs?: number;
  /** This call's exact fuel budget. Default: the sandbox's (native: metering must be on). */
  fuel?: number;
  /** Aborting stops the call (and so ends the session) and rejects with `AbortError`. */
  signal?: AbortSignal;
}

export interface SessionCloseOptions {
  /** An export to call first so the guest can end cleanly (e.g. `shutdown`), if it exists. */
  shutdown?: string;
  /** The shutdown export's wall-clock budget, in ms. Default 1000. */
  budgetMs?: number;
}

/**
 * One instance kept alive across calls. Calls run one at a time, in call order; each has its own
 * deadline, fuel and output capture, while memory (and the memory cap) carries over. A call that traps,
 * times out, exits or is aborted ends the session (an unwound instance is never reused); later calls
 * reject with `SessionEndedError` (`SESSION_ENDED`).
 */
export interface Session {
  /** `null` while open; why it ended, once it has. */
  readonly ended: SessionEndReason | null;
  call(exportName: string, options?: SessionCallOptions): Promise<SessionCallResult>;
  close(options?: SessionCloseOptions): Promise<void>;
}
