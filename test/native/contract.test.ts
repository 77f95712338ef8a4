// One contract across the backends: the addon's limits and error codes are
// the ones the TypeScript layer (and so the pure-JS backend) uses, and the
// addon's errors carry their code as `err.code`, not in the message.
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_MAX_MODULE_MB, DEFAULT_STACK_LIMIT_KB, MAX_MEMORY_LIMIT_MB, MAX_MODULE_MB_LIMIT, MAX_OUTPUT_BYTES_LIMIT,
  MAX_STACK_LIMIT_KB, MIN_STACK_LIMIT_KB,
} from '../../dist/esm/shared/config.js';
import { errorFromCode, InternalError } from '../../dist/esm/shared/errors.js';
import { HOST_CALL_MAX_BYTES } from '../../dist/esm/index.js';
import { MAX_TABLE_ELEMENTS } from '../../dist/esm/js-backend/module/memory-plan.js';
import { MAX_OPEN_FILES } from '../../dist/esm/js-backend/wasi/wasi.js';
import { loadNativeBinding } from '../../dist/esm/native/addon.js';
import { wat } from '../conformance/helpers.js';

describe('the addon and the TypeScript layer share one contract', () => {
  test('limits and defaults: the JS backend copies equal the core values', () => {
    expect(loadNativeBinding().nativeInfo().limits).toEqual({
      maxMemoryMb: MAX_MEMORY_LIMIT_MB,
      maxOutputBytes: MAX_OUTPUT_BYTES_LIMIT,
      defaultMaxModuleMb: DEFAULT_MAX_MODULE_MB,
      maxModuleMb: MAX_MODULE_MB_LIMIT,
      defaultStackKb: DEFAULT_STACK_LIMIT_KB,
      minStackKb: MIN_STACK_LIMIT_KB,
      maxStackKb: MAX_STACK_LIMIT_KB,
      maxTableElements: MAX_TABLE_ELEMENTS,
      maxOpenFiles: MAX_OPEN_FILES,
      hostCallMaxBytes: HOST_CALL_MAX_BYTES,
    });
  });

  test('every core error code has its typed class', () => {
    const codes = loadNativeBinding().nativeInfo().errorCodes;
    expect(codes.length).toBeGreaterThanOrEqual(14);
    for (const code of codes) {
      const e = errorFromCode(code as never, 'm');
      expect(e.code, code).toBe(code);
      if (code !== 'INTERNAL') expect(e, code).not.toBeInstanceOf(InternalError);
    }
  });

  test('a thrown addon error carries its code, and its message is the text alone', () => {
    const { NativeSandbox } = loadNativeBinding();
    const options = {
      memoryLimitBytes: 64 << 20, timeoutMs: 1000, fuelMode: 'off', readonlyDirs: [],
      readwriteDirs: [{ host: '/nonexistent/mimobox-dir', guest: '/data' }], maxOutputBytes: 1024, cache: false, maxConcurrency: 1,
    } as never;
    let thrown: unknown;
    try {
      new NativeSandbox(options);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as { code?: string }).code).toBe('DIR_NOT_FOUND');
    expect((thrown as Error).message).toMatch(/^host directory \/nonexistent\/mimobox-dir does not exist/);
  });

  test('a module loaded by one native sandbox is refused by another (execute and session), typed', async () => {
    const { NativeSandbox } = loadNativeBinding();
    const options = {
      memoryLimitBytes: 64 << 20, timeoutMs: 1000, fuelMode: 'off', readonlyDirs: [], readwriteDirs: [],
      maxOutputBytes: 1024, cache: false, maxConcurrency: 1,
    } as never;
    const [a, b] = [new NativeSandbox(options), new NativeSandbox(options)];
    try {
      const hello = wat('hello');
      const module = await a.loadModule(hello, null, null, null, null);
      const request = { path: hello, args: [hello], env: [], stdin: new Uint8Array(), executionId: 7_000_001 };
      const refused = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return e as Error & { code?: string };
        }
        return undefined;
      };
      for (const e of [
        refused(() => b.executeLoaded(module, request)),
        refused(() => b.openSession(module, { args: [hello], env: [], executionId: 7_000_002 })),
      ]) {
        expect(e?.code).toBe('CONFIG_INVALID');
        expect(e?.message).toMatch(/loaded by another sandbox: load it with this one/);
      }
      expect((await a.executeLoaded(module, request)).exitCode).toBe(0);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });

  test('a rejected addon promise carries its code too', async () => {
    const { NativeSandbox } = loadNativeBinding();
    const sb = new NativeSandbox({
      memoryLimitBytes: 64 << 20, timeoutMs: 1000, fuelMode: 'off', readonlyDirs: [], readwriteDirs: [],
      maxOutputBytes: 1024, cache: false, maxConcurrency: 1,
    } as never);
    try {
      const err = await sb.loadModule(null, new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]), 'bad.wasm').then(() => null, (e: unknown) => e);
      expect((err as { code?: string }).code).toBe('MODULE_INVALID');
      expect((err as Error).message).toMatch(/^bad\.wasm is not a valid WebAssembly module/);
    } finally {
      await sb.destroy();
    }
  });
});
