// What a one-shot execute (worker.ts) and a session (session-worker.ts) share
// inside the worker: the import object, and how a guest's end (a return, an
// exit, a trap, a refused grow) becomes an outcome.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nearMemoryCap } from '../module/memory-plan.js';
import { CappedOutput } from '../wasi/output-capture.js';
import type { JobMessage, JobOutcome } from './protocol.js';
import { classifyTrap } from './traps.js';
import { ExitSignal, Wasi } from '../wasi/wasi.js';
import { HOST_CALL, WASI_MODULE } from '../wasi/wasi-defs.js';

/** The guest's WASI over the job's shared output buffer (both streams emptied first). */
export function guestWasi(job: Pick<JobMessage, 'output' | 'maxOutputBytes' | 'args' | 'env' | 'preopens' | 'wake'>,
  stdin: Uint8Array): { wasi: Wasi; stdout: CappedOutput; stderr: CappedOutput } {
  const stdout = new CappedOutput(job.output, 0, job.maxOutputBytes);
  const stderr = new CappedOutput(job.output, 1, job.maxOutputBytes);
  stdout.reset();
  stderr.reset();
  const wasi = new Wasi({ args: job.args, env: job.env, stdin, stdout, stderr, preopens: job.preopens, wake: new Int32Array(job.wake) });
  return { wasi, stdout, stderr };
}

/** Thrown by an import linked as a trap (unknownImports: 'trap'); names the import. */
export class UnknownImportCalled extends Error {}

type HostCallImport = (ptr: number, len: number, outPtrPtr: number, outLenPtr: number) => number;

/** WASI, host.call (the door, or "no host here": -1, as on native) and the imports linked as traps. */
export function importObject(traps: readonly { module: string; name: string }[], wasi: Wasi, hostCall?: HostCallImport): WebAssembly.Imports {
  const out: Record<string, Record<string, WebAssembly.ImportValue>> = {
    [WASI_MODULE]: wasi.imports(),
    [HOST_CALL.module]: { [HOST_CALL.name]: hostCall ?? (() => -1) },
  };
  for (const { module, name } of traps) {
    out[module] ??= {};
    (out[module] as Record<string, WebAssembly.ImportValue>)[name] = () => {
      throw new UnknownImportCalled(`called unknown import ${module}.${name}: the sandbox does not provide it (unknownImports: 'trap')`);
    };
  }
  return out;
}

/** The outcome of a guest that threw `e` out of its entry (an exit, a trap, a link error). */
export function outcomeOf(e: unknown): JobOutcome {
  if (e instanceof ExitSignal) return { exitCode: e.code };
  if (e instanceof UnknownImportCalled) return { exitCode: null, trap: 'other', error: `wasm trap: ${e.message}` };
  if (e instanceof WebAssembly.LinkError) return { exitCode: null, linkError: e.message };
  const info = classifyTrap(e);
  return { exitCode: info.trap === 'memory' ? 1 : null, trap: info.trap, error: info.error, ...(info.limit ? { limit: info.limit } : {}) };
}

/** Reports an abnormal end at the memory cap as native does; see nearMemoryCap. */
export function refusedGrow(o: JobOutcome, memory: WebAssembly.Memory | undefined, limit: number): JobOutcome {
  if (!memory || o.trap === 'memory' || o.trap === 'stack_overflow' || o.linkError) return o;
  const abnormal = o.trap !== undefined || (o.exitCode !== null && o.exitCode !== 0);
  if (!abnormal) return o;
  const size = memory.buffer.byteLength;
  if (!nearMemoryCap(size, limit)) return o;
  return {
    exitCode: 1,
    trap: 'memory',
    limit: 'memory',
    error: `memory limit exceeded: the guest's memory (${size} bytes) reached the sandbox's limit of ${limit} bytes and a memory.grow was refused`,
  };
}

/**
 * Guests run at a lower CPU priority than the host's event loop, so a busy
 * guest (or eight) cannot starve the server's main thread of CPU. Linux only:
 * there /proc/thread-self names this thread's id and setpriority(2) takes a
 * thread id; elsewhere this is a no-op.
 */
export function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) setPriority(tid, 10);
  } catch {
    /* not Linux, or not permitted: run at normal priority */
  }
}

/** A full collection of this thread's heap, when the runtime allows one (see worker.ts for when). */
export const collectGarbage: (() => void) | undefined = (() => {
  try {
    // `gc` exists only in contexts made while --expose-gc is on: make one, then turn it off again.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    setFlagsFromString('--no-expose-gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
})();
