// The bounded bulk operators (bulk-ops.ts, issue 21 item 4) keep the
// operators' exact semantics: the rewritten module, with pieces of 7 bytes
// and 3 table elements so every path runs on small buffers, is run beside
// the original on the same random operations (overlapping copies both ways,
// out-of-bounds ranges, ranges ending exactly at the end, dropped segments):
// each operation traps the same way, and memory and tables stay identical
// after each one (a trap writes nothing).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { boundBulkOps } from '../../dist/esm/js-backend/instrument/bulk-ops.js';
import { parseModule } from '../../dist/esm/js-backend/binary/wasm-binary.js';
import { c, wat } from '../conformance/helpers.js';

type Exports = Record<string, (...args: unknown[]) => unknown> & { memory: WebAssembly.Memory };
const instance = (bytes: Uint8Array): Exports =>
  new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {}).exports as unknown as Exports;

const MEMORY = 2 * 65536;
const TABLE = 64;
const SEGMENT = { init: 200, tinit: 20 } as const;
const OPS = ['fill', 'copy', 'init', 'tfill', 'tcopy', 'tinit', 'xfill', 'data_drop', 'elem_drop', 'tfill_null'] as const;

describe('bounded bulk operators', () => {
  const original = new Uint8Array(readFileSync(wat('bulk_ops')));
  const rewritten = boundBulkOps(original, parseModule(original), { bytes: 7, elements: 3 });

  test('the rewrite calls helpers instead of the operators', () => {
    expect(rewritten.length).toBeGreaterThan(original.length);
    expect(WebAssembly.validate(rewritten as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  test('3,000 random sequences: same traps, same memory and tables after every operation', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % Math.max(1, Math.floor(n));
    };
    const edge = (size: number): number => [0, 1, 6, 7, 8, 14, size - 8, size - 7, size - 1, size, size + 1, 0x7fffffff, 0xffffffff][rnd(13)] as number;
    const objs = [{ a: 1 }, { b: 2 }, null];
    let ops = 0;
    let traps = 0;
    for (let round = 0; round < 3000; round++) {
      const a = instance(original);
      const b = instance(rewritten);
      for (const x of [a, b]) {
        x.tinit?.(0, 0, 20);
        x.init?.(100, 0, 200);
      }
      for (let k = 0; k < 6; k++) {
        const op = OPS[rnd(OPS.length)] as (typeof OPS)[number];
        const table = op.startsWith('t') || op === 'xfill';
        const dst = table ? TABLE : MEMORY;
        const src = op === 'init' || op === 'tinit' ? SEGMENT[op] : dst;
        const args: unknown[] = [
          rnd(3) ? rnd(dst + 2) : edge(dst),
          rnd(3) ? rnd(src + 2) : edge(src),
          rnd(4) ? rnd(Math.max(src, dst) / (rnd(2) ? 1 : 8) + 3) : edge(src),
        ];
        if (op === 'fill') args[1] = rnd(256);
        if (op === 'tfill') args[1] = rnd(TABLE);
        if (op === 'xfill') args[1] = objs[rnd(3)];
        if (op === 'tfill_null') args.splice(1, 1);
        const run = (x: Exports): string | undefined => {
          try {
            (x[op] as (...v: unknown[]) => unknown)(...args);
            return undefined;
          } catch (e) {
            return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
          }
        };
        const ta = run(a);
        const tb = run(b);
        ops++;
        if (ta !== undefined) traps++;
        const where = `${op}(${args.map(String).join(', ')}) in round ${round}`;
        expect(tb, where).toBe(ta);
        expect(Buffer.compare(new Uint8Array(a.memory.buffer), new Uint8Array(b.memory.buffer)), where).toBe(0);
        for (let i = 0; i < TABLE; i++) {
          if (a.tget?.(i) !== b.tget?.(i) || a.xget?.(i) !== b.xget?.(i)) expect.fail(`table entry ${i} differs after ${where}`);
        }
      }
    }
    // Both kinds were exercised in earnest.
    expect(traps).toBeGreaterThan(ops / 10);
    expect(ops - traps).toBeGreaterThan(ops / 10);
  });

  test.each([c('nbody'), c('sha256sum'), c('fileops'), wat('hello')])('%s still validates (and is unchanged when it has no bulk operator)', (path) => {
    const bytes = new Uint8Array(readFileSync(path));
    const out = boundBulkOps(bytes, parseModule(bytes));
    expect(WebAssembly.validate(out as Uint8Array<ArrayBuffer>)).toBe(true);
  });
});
