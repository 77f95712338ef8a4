// The two clocks a guest may read, in nanoseconds.
import { WasiError } from './fs.js';
import { CLOCK, ERRNO } from './wasi-defs.js';

const START_NS = process.hrtime.bigint();
const START_REALTIME_NS = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

export function now(id: number): bigint {
  if (id === CLOCK.MONOTONIC) return process.hrtime.bigint();
  if (id === CLOCK.REALTIME) return START_REALTIME_NS + (process.hrtime.bigint() - START_NS);
  throw new WasiError(clockErrno(id));
}

export const realtimeNs = (): bigint => now(CLOCK.REALTIME);

/** wasmtime answers the CPU-time clocks with EBADF (unsupported) and other ids with EINVAL. */
export function clockErrno(id: number): number {
  return id === CLOCK.PROCESS_CPUTIME || id === CLOCK.THREAD_CPUTIME ? ERRNO.BADF : ERRNO.INVAL;
}
