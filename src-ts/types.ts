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
   * Exact instruction budget per execute (deterministic, the same count on both backends). `null` turns fuel metering
   * off (wall-clock only, fastest). Unset: a budget derived from the timeout (see README).
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
   * Native only: start each execute on the calling thread for a bounded slice (100,000 fuel units,
   * about 4–80 µs of guest code, and 200 µs counted at host calls; WASI calls whose cost the guest
   * sets move to the workers before they run). A guest that finishes within it resolves without a
   * hand-off to a worker thread; anything longer moves to the workers mid-run. Only with fuel
   * metering on (not `fuel: null`) and for modules with at most 1 MiB of data segments. Default
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
  /** Human-readable reason when the guest did not end normally. */
  error?: string;
  /** Wall time of the execute (instantiate + run), in ms. */
  elapsedMs: number;
  /** Fuel used: native whenever metering is on; JS backend with an exact `fuel` budget. */
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
}

export interface Sandbox {
  execute(cmd: string[], opts?: ExecuteOptions): Promise<SandboxResult>;
  destroy(): Promise<void>;
}
