// Worker thread entry of one session (session.ts): keeps one instance alive
// and runs one export per 'call' message. Output is captured per call in the
// shared buffer (reset before each); fuel gets a fresh budget per call. A call
// that unwinds the instance (trap, exit, fuel) says so, and the host ends the
// session: an unwound instance is never called again.
import { parentPort } from 'node:worker_threads';
import { FuelCounters } from '../instrument/fuel-counters.js';
import { collectGarbage, guestWasi, importObject, lowerThreadPriority, outcomeOf, refusedGrow } from './guest-run.js';
import { GuestDoor } from './host-door.js';
import type { CappedOutput } from '../wasi/output-capture.js';
import type { JobOutcome, SessionCallMessage, SessionOpenMessage, SessionReply } from './protocol.js';
import type { Wasi } from '../wasi/wasi.js';

interface Live {
  instance: WebAssembly.Instance | undefined;
  memory: WebAssembly.Memory | undefined;
  wasi: Wasi;
  stdout: CappedOutput;
  stderr: CappedOutput;
  fuel: FuelCounters | undefined;
  door: GuestDoor | undefined;
  memoryLimitBytes: number;
}

/** The allocator gave no room for a call's input: reported as the memory trap wasmtime would give. */
class NoRoomForInput extends Error {}

let live: Live | undefined;

/** Runs `fn` (guest code) and turns its end into a reply. */
function guarded(s: Live, fn: () => unknown): SessionReply {
  let outcome: JobOutcome;
  let returnValue: number | null = null;
  let ended = false;
  try {
    const value = fn();
    returnValue = typeof value === 'number' ? value | 0 : null;
    outcome = { exitCode: 0 };
  } catch (e) {
    ended = true;
    outcome = e instanceof NoRoomForInput ? { exitCode: 1, trap: 'memory', error: e.message } : outcomeOf(e);
  }
  if (s.fuel?.exhausted) outcome = { exitCode: null, fuelExhausted: true };
  outcome = refusedGrow(outcome, s.memory, s.memoryLimitBytes);
  if (s.fuel) outcome.fuelConsumed = s.fuel.consumed(outcome.trap);
  if (s.memory) outcome.memoryBytes = s.memory.buffer.byteLength;
  // An unwound instance's files go now (Node would close them when the thread exits, in any case).
  if (ended) s.wasi.closeAll();
  return { ...outcome, returnValue, ended };
}

function open(m: SessionOpenMessage): SessionReply {
  const { wasi, stdout, stderr } = guestWasi(m, new Uint8Array(0));
  const s: Live = { instance: undefined, memory: undefined, wasi, stdout, stderr, fuel: undefined, door: undefined, memoryLimitBytes: m.memoryLimitBytes };
  if (m.door) {
    s.door = new GuestDoor(m.door, {
      memory: () => s.memory,
      alloc: () => (m.hostAlloc ? s.instance?.exports.host_alloc as (n: number) => unknown : undefined),
    });
  }
  const reply = guarded(s, () => {
    const instance = new WebAssembly.Instance(m.module, importObject(m.traps, wasi, s.door?.call));
    s.instance = instance;
    const mem = instance.exports.memory;
    s.memory = mem instanceof WebAssembly.Memory ? mem : undefined;
    wasi.memory = s.memory;
    if (m.fuel !== undefined) {
      s.fuel = FuelCounters.attach(instance, m.fuel);
      s.fuel.runStart(instance);
    }
    if (m.initialize) (instance.exports._initialize as () => unknown)();
    return undefined;
  });
  if (!reply.ended) live = s;
  return reply;
}

function call(m: SessionCallMessage): SessionReply {
  const s = live;
  if (!s?.instance) return { exitCode: null, trap: 'other', error: 'the session has no live instance', returnValue: null, ended: true };
  const exports = s.instance.exports;
  s.stdout.reset();
  s.stderr.reset();
  s.door?.resetFaults();
  if (s.fuel && m.fuel !== undefined) s.fuel.reset(m.fuel);
  return guarded(s, () => {
    const fn = exports[m.name] as (...args: number[]) => unknown;
    const input = m.input;
    if (input === undefined) return fn();
    // The allocator is the guest's own code: it counts toward this call's fuel, and may trap.
    const at = Number((exports[m.alloc] as (n: number) => unknown)(input.byteLength)) >>> 0;
    const size = s.memory?.buffer.byteLength ?? 0;
    if (!s.memory || at === 0 || at + input.byteLength > size) {
      throw new NoRoomForInput(`memory limit exceeded: the guest's ${m.alloc}(${input.byteLength}) returned ${at}, ` +
        `no room for the call's input in its memory (${size} bytes)`);
    }
    new Uint8Array(s.memory.buffer, at, input.byteLength).set(input);
    return fn(at, input.byteLength);
  });
}

lowerThreadPriority();

/**
 * As the executes' worker does (worker.ts): an idle-ish thread is not pressed to collect, and its
 * garbage (message buffers, the WASI layer's objects) grew RSS by ~30 MiB over 40,000 calls.
 * A collection of this small heap takes about a millisecond.
 */
const COLLECT_EVERY = 250;
const COLLECT_AFTER_MS = 50;
let sinceCollect = 0;

parentPort?.on('message', (m: SessionOpenMessage | SessionCallMessage) => {
  let reply: SessionReply;
  const started = performance.now();
  try {
    reply = m.type === 'open' ? open(m) : call(m);
  } catch (e) {
    reply = { exitCode: null, trap: 'other', error: `the session worker failed: ${e instanceof Error ? e.message : String(e)}`, returnValue: null, ended: true };
  }
  parentPort?.postMessage(reply);
  if (++sinceCollect >= COLLECT_EVERY || performance.now() - started > COLLECT_AFTER_MS) {
    sinceCollect = 0;
    collectGarbage?.();
  }
});
// Loaded: the host hands this thread to a session now (session-threads.ts).
parentPort?.postMessage({ ready: true });
