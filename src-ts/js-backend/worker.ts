// Worker thread entry: instantiates a compiled module with our WASI and runs
// it to the end. The pool terminates this thread at the deadline.
import { parentPort } from 'node:worker_threads';
import { CappedOutput, nearMemoryCap } from './limits.js';
import type { JobMessage, JobOutcome } from './protocol.js';
import { classifyTrap } from './traps.js';
import { ExitSignal, Wasi } from './wasi.js';

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
  let outcome: JobOutcome;
  try {
    const instance = new WebAssembly.Instance(job.module, { wasi_snapshot_preview1: wasi.imports() });
    const m = instance.exports.memory;
    memory = m instanceof WebAssembly.Memory ? m : undefined;
    wasi.memory = memory;
    const entry = instance.exports[job.entry] as () => unknown;
    const value = entry();
    outcome = { exitCode: job.entry === 'main' && typeof value === 'number' ? value >>> 0 : 0 };
  } catch (e) {
    if (e instanceof ExitSignal) outcome = { exitCode: e.code };
    else if (e instanceof WebAssembly.LinkError) outcome = { exitCode: null, linkError: e.message };
    else {
      const info = classifyTrap(e);
      outcome = { exitCode: info.trap === 'memory' ? 1 : null, trap: info.trap, error: info.error };
    }
  } finally {
    wasi.closeAll();
  }
  return refusedGrow(outcome, memory, job.memoryLimitBytes);
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

parentPort?.on('message', (job: JobMessage) => {
  let outcome: JobOutcome;
  try {
    outcome = run(job);
  } catch (e) {
    outcome = { exitCode: null, trap: 'other', error: `the sandbox worker failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  parentPort?.postMessage(outcome);
});
