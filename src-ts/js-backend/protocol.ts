// Messages between the pool (main thread) and a worker. Structured clone
// only: the compiled Module and SharedArrayBuffers are shared, not copied.
import type { Preopen } from './fs.js';
import type { TrapKind } from '../types.js';

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
  /** Output capture, see limits.ts. */
  output: SharedArrayBuffer;
  /** Int32 cell the pool sets and notifies to cut a sleep short before terminating. */
  wake: SharedArrayBuffer;
}

export interface JobOutcome {
  exitCode: number | null;
  trap?: TrapKind;
  error?: string;
  /** Set when instantiation failed at link time (should not happen: imports are checked first). */
  linkError?: string;
  /** Fuel used (metered modules only): what wasmtime would report, the budget when it ran out. */
  fuelConsumed?: number;
  /** The fuel budget stopped the guest. */
  fuelExhausted?: boolean;
  /** Size of the guest's linear memory at the end (the pool replaces workers that held a lot). */
  memoryBytes?: number;
}
