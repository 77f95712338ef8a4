// Messages between the pool (main thread) and a worker. Structured clone
// only: the compiled Module and SharedArrayBuffers are shared, not copied.
import type { Preopen } from '../wasi/fs.js';
import type { DoorEnd } from './host-door.js';
import type { LimitKind, TrapKind } from '../../shared/types.js';

export interface JobMessage {
  module: WebAssembly.Module;
  /** The export to call; see linking.ts. */
  entry: string;
  /** Call `_initialize` first. */
  initialize: boolean;
  /** The fuel budget of a module instrumented by instrument.ts; undefined: not metered. */
  fuel?: number;
  /** Function imports to link as traps (unknownImports: 'trap'). */
  traps: { module: string; name: string }[];
  args: string[];
  env: string[];
  stdin: Uint8Array;
  preopens: Preopen[];
  memoryLimitBytes: number;
  maxOutputBytes: number;
  /** Output capture, see output-capture.ts. */
  output: SharedArrayBuffer;
  /** Int32 cell the pool sets and notifies to cut a sleep short before terminating. */
  wake: SharedArrayBuffer;
  /** host.call's channel to the host's `hostCall` (host-door.ts); absent: host.call answers -1. */
  door?: DoorEnd;
  /** The module exports `host_alloc` of type (i32) -> i32, for placing host.call answers. */
  hostAlloc?: boolean;
}

export interface JobOutcome {
  exitCode: number | null;
  trap?: TrapKind;
  error?: string;
  /** Which limit stopped the guest, when one did (result.limit). */
  limit?: LimitKind;
  /** Set when instantiation failed at link time (should not happen: imports are checked first). */
  linkError?: string;
  /** Fuel used (metered modules only): what wasmtime would report, the budget when it ran out. */
  fuelConsumed?: number;
  /** The fuel budget stopped the guest. */
  fuelExhausted?: boolean;
  /** Size of the guest's linear memory at the end (the pool replaces workers that held a lot). */
  memoryBytes?: number;
}

/** Opens a session's instance in its worker (session-worker.ts); answered with a SessionReply. */
export interface SessionOpenMessage extends Omit<JobMessage, 'entry' | 'stdin'> {
  type: 'open';
}

/** One session call: `name()`, or `name(alloc(len), len)` with the input written there. */
export interface SessionCallMessage {
  type: 'call';
  name: string;
  input?: Uint8Array;
  alloc: string;
  /** This call's budget (metered modules only). */
  fuel?: number;
}

export interface SessionReply extends JobOutcome {
  /** The export's i32 result, or null (no result, or it did not return). */
  returnValue: number | null;
  /** The instance unwound (trap, exit, fuel): it must not be called again. */
  ended: boolean;
}
