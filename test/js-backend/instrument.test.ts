// The fuel rewriter on its own (instrument.ts): the module it returns
// validates, keeps its index spaces, and counts as documented.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { FUEL_EXPORT, instrumentFuel, OUT_OF_FUEL, START_EXPORT } from '../../dist/esm/js-backend/instrument/instrument.js';
import { parseModule } from '../../dist/esm/js-backend/binary/wasm-binary.js';
import { c, wat } from '../conformance/helpers.js';

const instrument = (path: string): Uint8Array => {
  const bytes = new Uint8Array(readFileSync(path));
  return instrumentFuel(bytes, parseModule(bytes), path);
};

describe('instrumentFuel', () => {
  test.each([wat('hello'), wat('fuel_ops'), c('nbody'), c('sha256sum'), c('fileops')])('%s validates', (path) => {
    expect(WebAssembly.validate(instrument(path) as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  test('imported globals and functions, a start function: indices kept, 9 units counted', async () => {
    const bytes = instrument(wat('fuel_shapes'));
    let called = 0;
    const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, {
      env: { g: new WebAssembly.Global({ value: 'i32', mutable: false }, 41), h: () => called++ },
    });
    const fuel = instance.exports[FUEL_EXPORT] as WebAssembly.Global;
    fuel.value = -1000n;
    (instance.exports._start as () => void)();
    expect(fuel.value).toBe(-1000n + 9n);
    expect(called).toBe(0);
    // The start function was taken out of instantiation (the runner calls it after setting the budget).
    expect(typeof instance.exports[START_EXPORT]).toBe('function');
  });

  test('a check at or past the budget marks the counter and traps', async () => {
    const { instance } = await WebAssembly.instantiate(instrument(wat('fuel_shapes')) as Uint8Array<ArrayBuffer>, {
      env: { g: new WebAssembly.Global({ value: 'i32' }, 1), h: () => {} },
    });
    const fuel = instance.exports[FUEL_EXPORT] as WebAssembly.Global;
    fuel.value = -5n; // $f's entry check comes after 6 units
    expect(() => (instance.exports._start as () => void)()).toThrow(WebAssembly.RuntimeError);
    expect(fuel.value).toBe(OUT_OF_FUEL);
  });

  test('a module it cannot read is MODULE_UNSUPPORTED, not a crash', () => {
    // One function whose body is a GC-proposal opcode (0xfb) the rewriter does not read.
    const broken = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type 0: [] -> []
      0x03, 0x02, 0x01, 0x00, // func 0: type 0
      0x0a, 0x06, 0x01, 0x04, 0x00, 0xfb, 0x00, 0x0b, // code: no locals, 0xfb 0x00, end
    ]);
    const layout = parseModule(broken);
    expect(() => instrumentFuel(broken, layout, 'broken.wasm')).toThrow(/cannot be metered with fuel/);
  });
});
