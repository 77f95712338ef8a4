// Worker thread entry: instantiates a compiled module with our WASI and runs
// it to the end. The pool terminates this thread at the deadline.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import { CappedOutput, nearMemoryCap } from './limits.js';
import type { JobMessage, JobOutcome } from './protocol.js';
import { classifyTrap } from './traps.js';
import { ExitSignal, Wasi } from './wasi.js';
import { HOST_CALL, WASI_MODULE } from './wasi-defs.js';
import { FuelCounters } from './fuel-counters.js';

function run(job: JobMessage): JobOutcome {
  const stdout = new CappedOutput(job.output, 0, job.maxOutputBytes);
  const stderr = new CappedOutput(job.output, 1, job.maxOutputBytes);
  stdout.reset();
  stderr.reset();
  const wasi = new Wasi({
    args: job.args, env: job.env, stdin: job.stdin, stdout, stderr, preopens: job.preopens,
    wake: new Int32Array(job.wake),
  });
  let memory: WebAssembly.Memory | undefined;
  let fuel: FuelCounters | undefined;
  let outcome: JobOutcome;
  try {
    const instance = new WebAssembly.Instance(job.module, importObject(job, wasi));
    const m = instance.exports.memory;
    memory = m instanceof WebAssembly.Memory ? m : undefined;
    wasi.memory = memory;
    if (job.fuel !== undefined) {
      fuel = FuelCounters.attach(instance, job.fuel);
      fuel.runStart(instance);
    }
    if (job.initialize) (instance.exports._initialize as () => unknown)();
    const value = (instance.exports[job.entry] as () => unknown)();
    // A command's _start returns nothing; main or a named entry may return an i32 exit code.
    outcome = { exitCode: typeof value === 'number' ? value >>> 0 : 0 };
  } catch (e) {
    if (e instanceof ExitSignal) outcome = { exitCode: e.code };
    else if (e instanceof UnknownImportCalled) outcome = { exitCode: null, trap: 'other', error: `wasm trap: ${e.message}` };
    else if (e instanceof WebAssembly.LinkError) outcome = { exitCode: null, linkError: e.message };
    else {
      const info = classifyTrap(e);
      outcome = { exitCode: info.trap === 'memory' ? 1 : null, trap: info.trap, error: info.error };
    }
  } finally {
    wasi.closeAll();
  }
  if (fuel?.exhausted) outcome = { exitCode: null, fuelExhausted: true };
  const final = refusedGrow(outcome, memory, job.memoryLimitBytes);
  // 0 when it never got to run (instantiation failed).
  if (job.fuel !== undefined) final.fuelConsumed = fuel ? fuel.consumed(final.trap) : 0;
  if (memory) final.memoryBytes = memory.buffer.byteLength;
  return final;
}

/** Thrown by an import linked as a trap (unknownImports: 'trap'); names the import. */
class UnknownImportCalled extends Error {}

function importObject(job: JobMessage, wasi: Wasi): WebAssembly.Imports {
  const out: Record<string, Record<string, WebAssembly.ImportValue>> = {
    [WASI_MODULE]: wasi.imports(),
    // Always there, as on native: "no host here".
    [HOST_CALL.module]: { [HOST_CALL.name]: () => -1 },
  };
  for (const { module, name } of job.traps) {
    out[module] ??= {};
    (out[module] as Record<string, WebAssembly.ImportValue>)[name] = () => {
      throw new UnknownImportCalled(`called unknown import ${module}.${name}: the sandbox does not provide it (unknownImports: 'trap')`);
    };
  }
  return out;
}

/** Reports an abnormal end at the memory cap as native does; see nearMemoryCap. */
function refusedGrow(o: JobOutcome, memory: WebAssembly.Memory | undefined, limit: number): JobOutcome {
  if (!memory || o.trap === 'memory' || o.trap === 'stack_overflow' || o.linkError) return o;
  const abnormal = o.trap !== undefined || (o.exitCode !== null && o.exitCode !== 0);
  if (!abnormal) return o;
  const size = memory.buffer.byteLength;
  if (!nearMemoryCap(size, limit)) return o;
  return {
    exitCode: 1,
    trap: 'memory',
    error: `memory limit exceeded: the guest's memory (${size} bytes) reached the sandbox's limit of ${limit} bytes and a memory.grow was refused`,
  };
}

/**
 * Guests run at a lower CPU priority than the host's event loop, so a busy
 * guest (or eight) cannot starve the server's main thread of CPU. Linux only:
 * there /proc/thread-self names this thread's id and setpriority(2) takes a
 * thread id; elsewhere this is a no-op.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) setPriority(tid, 10);
  } catch {
    /* not Linux, or not permitted: run at normal priority */
  }
}
lowerThreadPriority();

/**
 * An idle worker has no allocation pressure, so V8 would keep a finished
 * guest's dead linear memory (its backing store) until some later GC. After a
 * guest that used more than this, the worker collects at once (after posting
 * the result), so an idle pool does not pin guest memory.
 */
const COLLECT_AFTER_BYTES = 4 * 1024 * 1024;
/** Also after a long run (tables, host-side buffers): a few ms of GC is noise next to it. */
const COLLECT_AFTER_MS = 50;
/**
 * And after this many executes since the last collection: short guests leave
 * instances and guest memories (64 KiB and up, outside the heap) that a
 * thread with little else to do keeps for long. A collection of this small
 * heap takes about a millisecond, well under 1 % of 250 executes; it keeps
 * the process smaller (2,000 hello executes: 101 MiB RSS instead of 115).
 */
const COLLECT_EVERY = 250;
let sinceCollect = 0;
const collectGarbage: (() => void) | undefined = (() => {
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

parentPort?.on('message', (job: JobMessage) => {
  let outcome: JobOutcome;
  const started = performance.now();
  try {
    outcome = run(job);
  } catch (e) {
    outcome = { exitCode: null, trap: 'other', error: `the sandbox worker failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  parentPort?.postMessage(outcome);
  const held = (outcome.memoryBytes ?? 0) + job.stdin.byteLength;
  if (held > COLLECT_AFTER_BYTES || performance.now() - started > COLLECT_AFTER_MS || ++sinceCollect >= COLLECT_EVERY) {
    sinceCollect = 0;
    collectGarbage?.();
  }
});
