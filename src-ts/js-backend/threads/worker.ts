// Worker thread entry: instantiates a compiled module with our WASI and runs
// it to the end. The pool terminates this thread at the deadline.
import { parentPort } from 'node:worker_threads';
import type { JobMessage, JobOutcome } from './protocol.js';
import { FuelCounters } from '../instrument/fuel-counters.js';
import { collectGarbage, guestWasi, importObject, lowerThreadPriority, outcomeOf, refusedGrow } from './guest-run.js';
import { GuestDoor } from './host-door.js';

function run(job: JobMessage): JobOutcome {
  const { wasi } = guestWasi(job, job.stdin);
  let memory: WebAssembly.Memory | undefined;
  let instance: WebAssembly.Instance | undefined;
  let fuel: FuelCounters | undefined;
  let outcome: JobOutcome;
  try {
    const door = job.door ? new GuestDoor(job.door, {
      memory: () => memory,
      alloc: () => (job.hostAlloc ? instance?.exports.host_alloc as (n: number) => unknown : undefined),
    }) : undefined;
    instance = new WebAssembly.Instance(job.module, importObject(job.traps, wasi, door?.call));
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
    outcome = outcomeOf(e);
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
