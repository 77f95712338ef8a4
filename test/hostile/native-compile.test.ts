// Issue 21 items 6 and 10: compiling is bounded and never outlives its execute. A function
// with 2,000 live locals took Cranelift 12-26 s, ignoring AbortSignal and destroy(), and the
// execute then resolved with exit code 0; 100k GC-reference globals or wide struct types made
// Cranelift panic. Now such modules are refused before compiling (MODULE_UNSUPPORTED), and an
// execute waiting for a compile rejects at once on abort or destroy() and times out at its
// deadline (timedOut, never a success). Each case failed on aeb5616.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { AbortError, ModuleError, WasmSandbox } from '../../dist/esm/index.js';
import { tempDir } from '../conformance/helpers.js';
import { gcGlobalsModule, manyLocalsModule, structTypesModule } from './native-wasm-gen.js';

const dir = tempDir();
afterAll(() => dir.cleanup());
let n = 0;
function moduleFile(bytes: Uint8Array): string {
  const path = join(dir.path, `m${n++}.wasm`);
  writeFileSync(path, bytes);
  return path;
}

/** Valid, within every bound, and slow to compile: 12 functions of 60 live locals in ~1 MB each. */
const slowModule = (salt: number): string => moduleFile(manyLocalsModule(60, 2400, salt, 12));

test.each([
  ['a function with 2,000 live locals', () => manyLocalsModule(2000, 70)],
  ['100k GC-reference globals', () => gcGlobalsModule(100_000)],
  ['struct types with 100k fields in all', () => structTypesModule(100, 1000)],
])('%s is refused before compiling', async (_name, build) => {
  const sb = new WasmSandbox({ cache: false, timeoutMs: 120_000 });
  try {
    const err = await sb.execute([moduleFile(build())]).then(
      (r) => new Error(`it ran: exit ${r.exitCode}, ${r.error}`),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModuleError);
    expect((err as ModuleError).code).toBe('MODULE_UNSUPPORTED');
    expect((err as ModuleError).message).toMatch(/refused before compiling/);
  } finally {
    await sb.destroy();
  }
}, 120_000);

test('an abort while the module compiles rejects the execute at once', async () => {
  const sb = new WasmSandbox({ cache: false, timeoutMs: 120_000 });
  try {
    const ac = new AbortController();
    const run = sb.execute([slowModule(1)], { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 50);
    const err = await run.then((r) => new Error(`resolved: exit ${r.exitCode}`), (e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).code).toBe('ABORTED');
  } finally {
    await sb.destroy();
  }
}, 120_000);

test('destroy() while the module compiles rejects the execute and returns', async () => {
  const sb = new WasmSandbox({ cache: false, timeoutMs: 120_000 });
  const run = sb.execute([slowModule(2)]);
  const settled = run.then(() => 'resolved', (e: AbortError) => e.code);
  await new Promise((r) => setTimeout(r, 50));
  await sb.destroy();
  expect(await settled).toBe('DESTROYED');
}, 120_000);

test('the deadline passing while the module compiles is a timeout, never a success', async () => {
  const sb = new WasmSandbox({ cache: false, timeoutMs: 100 });
  try {
    const r = await sb.execute([slowModule(3)]);
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(r.error).toMatch(/still compiling/);
  } finally {
    await sb.destroy();
  }
}, 120_000);

test('destroy() while load() compiles rejects the load with DESTROYED at once', async () => {
  const sb = new WasmSandbox({ cache: false, timeoutMs: 120_000 });
  const loading = sb.load(slowModule(4)).then(() => 'loaded', (e: AbortError) => e.code);
  await new Promise((r) => setTimeout(r, 50));
  await sb.destroy();
  expect(await loading).toBe('DESTROYED');
}, 120_000);
