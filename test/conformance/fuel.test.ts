// Deterministic fuel on both backends: the JS backend instruments the module
// (src-ts/js-backend/instrument/instrument.ts) to count what wasmtime 48 counts, so the
// same guest and input report the same fuelConsumed and stop at the same
// point on both.
import { describe, expect, test } from 'vitest';
import type { SandboxResult } from '../../dist/esm/index.js';
import { BACKENDS, type BackendName } from './backends.js';
import { c, runOnce, wat } from './helpers.js';

interface FuelCase {
  name: string;
  cmd: string[];
  stdin?: string;
  fuel: number;
  /** The budget stops it (timedOut, fuelConsumed = the budget). */
  exhausts?: boolean;
  /** Fields the backends are documented to differ in (docs/js-backend.md, "The backends compared"), and why. */
  differs?: { fields: string[]; why: string };
}

const BIG = 1e12;
const CASES: FuelCase[] = [
  { name: 'hello', cmd: [wat('hello')], fuel: BIG },
  { name: 'main_only', cmd: [wat('main_only')], fuel: BIG },
  { name: 'nbody 1000', cmd: [c('nbody'), '1000'], fuel: BIG },
  { name: 'sha256sum', cmd: [c('sha256sum')], stdin: 'abc', fuel: BIG },
  { name: 'args_env', cmd: [c('args_env'), 'a', 'b'], fuel: BIG },
  { name: 'echo_stdin', cmd: [c('echo_stdin')], stdin: 'abc', fuel: BIG },
  { name: 'exit_code 3', cmd: [c('exit_code'), '3'], fuel: BIG },
  { name: 'output_flood 1000', cmd: [c('output_flood'), '1000'], fuel: BIG },
  { name: 'read_file (missing)', cmd: [c('read_file'), '/nope'], fuel: BIG },
  { name: 'div_zero (a trap)', cmd: [wat('div_zero')], fuel: BIG },
  { name: 'memory_grow (to the cap)', cmd: [wat('memory_grow')], fuel: BIG },
  {
    name: 'memory_bomb (malloc to the cap)', cmd: [c('memory_bomb')], fuel: BIG,
    differs: {
      fields: ['stderr', 'stderrBytes'],
      why: 'V8 has no trap-on-grow-failure: the guest sees malloc fail and prints its own message before the memory trap',
    },
  },
  { name: 'fuel_ops (every specially counted construct)', cmd: [wat('fuel_ops')], fuel: BIG },
  { name: 'fuel_ops, out of fuel before a 60,000-byte memory.fill', cmd: [wat('fuel_ops'), 'fill'], fuel: 5_000, exhausts: true },
  { name: 'start_fn (a start function, counted)', cmd: [wat('start_fn')], fuel: BIG },
  { name: 'start_fn, out of fuel in the start function', cmd: [wat('start_fn')], fuel: 50, exhausts: true },
  { name: 'loop, out of fuel', cmd: [wat('loop')], fuel: 1_000_000, exhausts: true },
  { name: 'loop_calls, out of fuel', cmd: [wat('loop_calls')], fuel: 1_000_003, exhausts: true },
  { name: 'nbody 100000, out of fuel mid-run', cmd: [c('nbody'), '100000'], fuel: 5_000_000, exhausts: true },
];

const run = (backend: BackendName, tc: FuelCase): Promise<SandboxResult> =>
  runOnce(backend, tc.cmd, { fuel: tc.fuel, timeoutMs: 20_000 }, tc.stdin === undefined ? {} : { stdin: tc.stdin });

const seen = new Map<string, Map<BackendName, SandboxResult>>();

describe.each(BACKENDS)('fuel [%s]', (backend) => {
  test.each(CASES)('$name: counted, and the same twice', async (tc) => {
    const [a, b] = [await run(backend, tc), await run(backend, tc)];
    expect(a.fuelConsumed).toBeTypeOf('number');
    // A trap reports the count wasmtime last stored (before a call, return or
    // unreachable): 0 for a trap in _start's first straight-line code.
    if (a.trap === undefined) expect(a.fuelConsumed).toBeGreaterThan(0);
    expect(b.fuelConsumed).toBe(a.fuelConsumed);
    expect(b.stdout.equals(a.stdout)).toBe(true);
    if (tc.exhausts) {
      expect(a.timedOut).toBe(true);
      expect(a.exitCode).toBeNull();
      expect(a.fuelConsumed).toBe(tc.fuel);
      expect(a.error).toMatch(/^fuel budget exhausted/);
    } else {
      expect(a.timedOut).toBe(false);
    }
    const byBackend = seen.get(tc.name) ?? new Map<BackendName, SandboxResult>();
    byBackend.set(backend, a);
    seen.set(tc.name, byBackend);
  }, 60_000);
});

/** Fields that differ by nature: which backend ran, and how long it took. */
const NOT_COMPARED = new Set<string>(['backend', 'elapsedMs']);

/**
 * What an error says, without each engine's own wording: its kind ("wasm
 * trap", "memory limit", "fuel budget exhausted"), the text before the first
 * colon or number. Wasmtime and V8 word a trap differently, and "after N ms"
 * is a time.
 */
const errorKind = (e: unknown): unknown =>
  typeof e === 'string' ? e.split(/:| after \d/)[0]!.replace(/ exceeded$/, '') : e;

/** Every other field of a result, Buffers as text, so one toEqual shows any difference. */
function everyField(r: SandboxResult, skip: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (NOT_COMPARED.has(k) || skip.includes(k)) continue;
    out[k] = k === 'error' ? errorKind(v) : Buffer.isBuffer(v) ? v.toString('latin1') : v;
  }
  return out;
}

describe.skipIf(BACKENDS.length < 2)('fuel: native and js agree', () => {
  test.each(CASES)('$name: every field of the result the same', (tc) => {
    const native = seen.get(tc.name)?.get('native');
    const js = seen.get(tc.name)?.get('js');
    if (!native || !js) throw new Error(`case "${tc.name}" did not run on both backends`);
    const skip = tc.differs?.fields ?? [];
    expect(everyField(js, skip)).toEqual(everyField(native, skip));
    // A documented difference must still be one: if the backends come to agree, the entry goes.
    for (const f of skip) expect(JSON.stringify(js[f as keyof SandboxResult]), `${f}: ${tc.differs?.why}`).not.toBe(JSON.stringify(native[f as keyof SandboxResult]));
  });
});
