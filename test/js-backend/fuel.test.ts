// The JS backend's fuel instrumentation against wasmtime 48's own counts,
// recorded from the native backend (test/conformance/fuel.test.ts compares
// the two live when both run). Guards the counting rules without the native
// binary, and checks the instrumented module still computes the same thing.
import { describe, expect, test } from 'vitest';
import { JsSandbox, type ExecuteOptions } from '../../dist/esm/index.js';
import { c, wat } from '../conformance/helpers.js';

/** [guest cmd, stdin, fuelConsumed on wasmtime 48.0.8 (native backend, fuel: 1e12)]. */
const WASMTIME_COUNTS: [string[], string | undefined, number][] = [
  [[wat('hello')], undefined, 7],
  [[wat('main_only')], undefined, 2],
  [[wat('div_zero')], undefined, 0],
  [[wat('fuel_ops')], undefined, 2_768],
  [[wat('fuel_ops'), 'fill'], undefined, 62_772],
  [[wat('memory_grow')], undefined, 0],
  [[c('echo_stdin')], 'abc', 184],
  [[c('exit_code'), '3'], undefined, 1_022],
  [[c('nbody'), '1000'], undefined, 1_569_240],
  [[c('output_flood'), '1000'], undefined, 1_181_485],
  [[c('memory_bomb')], undefined, 119_912],
];

describe('fuel counts as wasmtime 48', () => {
  test.each(WASMTIME_COUNTS)('%s', async (cmd, stdin, expected) => {
    const sb = new JsSandbox({ fuel: 1e12 });
    try {
      const opts: ExecuteOptions = stdin === undefined ? {} : { stdin };
      const r = await sb.execute(cmd, opts);
      expect(r.fuelConsumed).toBe(expected);
      // The plain module gives the same result.
      const plain = new JsSandbox({ fuel: null });
      try {
        const p = await plain.execute(cmd, opts);
        expect([r.exitCode, r.trap, r.stdout.toString()]).toEqual([p.exitCode, p.trap, p.stdout.toString()]);
        expect(p.fuelConsumed).toBeUndefined();
      } finally {
        await plain.destroy();
      }
    } finally {
      await sb.destroy();
    }
  });

  test('a budget short of a run stops it at the budget; the exact budget lets it finish', async () => {
    const sb = (fuel: number) => new JsSandbox({ fuel });
    const short = sb(1_568_000);
    const exact = sb(1_569_240);
    try {
      const a = await short.execute([c('nbody'), '1000']);
      expect([a.timedOut, a.exitCode, a.fuelConsumed]).toEqual([true, null, 1_568_000]);
      expect(a.error).toMatch(/^fuel budget exhausted after \d+ ms$/);
      const b = await exact.execute([c('nbody'), '1000']);
      expect([b.timedOut, b.exitCode, b.fuelConsumed]).toEqual([false, 0, 1_569_240]);
    } finally {
      await Promise.all([short.destroy(), exact.destroy()]);
    }
  });
});
