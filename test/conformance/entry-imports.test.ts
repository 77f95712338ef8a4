// Named entry points (an execute's `entry`), unknown imports
// (unknownImports: 'error' | 'trap') and the host.call import, table-driven
// on both backends.
import { describe, expect, test } from 'vitest';
import { ModuleError, type ExecuteOptions, type SandboxConfig, type SandboxResult } from '../../dist/esm/index.js';
import { BACKENDS, type BackendName } from './backends.js';
import { runOnce, wat } from './helpers.js';

interface Case {
  name: string;
  guest: string;
  config?: SandboxConfig;
  opts?: ExecuteOptions;
  /** Either a result to match, or a ModuleError code with text its message must contain. */
  expect: { result: Partial<Record<keyof SandboxResult, unknown>>; errorContains?: string[] } | { code: string; contains: string[] };
}

const REACTOR_EXPORTS = ['_initialize', 'run', 'quiet', 'exits', 'probe', 'turn'];

const CASES: Case[] = [
  { name: 'entry run: _initialize first, its i32 is the exit code', guest: 'reactor', opts: { entry: 'run' },
    expect: { result: { exitCode: 7, stdout: 'ran\n' } } },
  { name: 'entry returning nothing: exit 0', guest: 'reactor', opts: { entry: 'quiet' },
    expect: { result: { exitCode: 0, stdout: 'quiet\n' } } },
  { name: 'proc_exit(9) in an entry: exit 9', guest: 'reactor', opts: { entry: 'exits' },
    expect: { result: { exitCode: 9 } } },
  { name: 'host.call answers -1', guest: 'reactor', opts: { entry: 'probe' },
    expect: { result: { exitCode: 99 } } },
  { name: 'entry main (no _initialize)', guest: 'main_only', opts: { entry: 'main' },
    expect: { result: { exitCode: 42 } } },
  { name: 'entry _start on a command', guest: 'hello', opts: { entry: '_start' },
    expect: { result: { exitCode: 0, stdout: 'hello, world\n' } } },
  { name: 'a reactor without entry: NO_ENTRY', guest: 'reactor',
    expect: { code: 'NO_ENTRY', contains: ['_start'] } },
  { name: 'missing entry: NO_ENTRY listing the function exports', guest: 'reactor', opts: { entry: 'nope' },
    expect: { code: 'NO_ENTRY', contains: ['"nope"', ...REACTOR_EXPORTS] } },
  { name: 'entry with parameters: NO_ENTRY', guest: 'reactor', opts: { entry: 'turn' },
    expect: { code: 'NO_ENTRY', contains: ['"turn"', 'run'] } },
  { name: 'entry that is not a function: NO_ENTRY', guest: 'reactor', opts: { entry: 'memory' },
    expect: { code: 'NO_ENTRY', contains: ['"memory"', 'run'] } },
  { name: 'unknown import, default: IMPORT_MISSING naming it', guest: 'unknown_import',
    expect: { code: 'IMPORT_MISSING', contains: ['env.foo'] } },
  { name: "unknown import, 'error': IMPORT_MISSING", guest: 'unknown_import', config: { unknownImports: 'error' },
    expect: { code: 'IMPORT_MISSING', contains: ['env.foo'] } },
  { name: "unknown import, 'trap': a trap naming it when called", guest: 'unknown_import', config: { unknownImports: 'trap' },
    expect: { result: { exitCode: null, trap: 'other', stdout: 'before\n' }, errorContains: ['env.foo'] } },
  { name: "unknown import, 'trap', never called: exit 0", guest: 'unknown_import', config: { unknownImports: 'trap' },
    opts: { entry: 'skip' }, expect: { result: { exitCode: 0 } } },
  { name: "'trap' on the import_missing guest names env.not_provided", guest: 'import_missing', config: { unknownImports: 'trap' },
    expect: { result: { exitCode: null, trap: 'other' }, errorContains: ['env.not_provided'] } },
  { name: 'host.call of another type is an unknown import', guest: 'host_call_other_type',
    expect: { code: 'IMPORT_MISSING', contains: ['host.call'] } },
  { name: "host.call of another type under 'trap' links (not called: exit 0)", guest: 'host_call_other_type',
    config: { unknownImports: 'trap' }, expect: { result: { exitCode: 0 } } },
];

async function outcome(backend: BackendName, c: Case): Promise<SandboxResult | ModuleError> {
  try {
    return await runOnce(backend, [wat(c.guest)], c.config ?? {}, c.opts ?? {});
  } catch (e) {
    if (e instanceof ModuleError) return e;
    throw e;
  }
}

describe.each(BACKENDS)('entry, unknownImports, host.call [%s]', (backend) => {
  for (const c of CASES) {
    test(c.name, async () => {
      const got = await outcome(backend, c);
      if ('code' in c.expect) {
        expect(got).toBeInstanceOf(ModuleError);
        const e = got as ModuleError;
        expect(e.code).toBe(c.expect.code);
        for (const s of c.expect.contains) expect(e.message).toContain(s);
        return;
      }
      if (got instanceof ModuleError) throw got;
      for (const [k, v] of Object.entries(c.expect.result)) {
        const actual = got[k as keyof SandboxResult];
        expect(Buffer.isBuffer(actual) ? actual.toString() : actual, k).toEqual(v);
      }
      for (const s of c.expect.errorContains ?? []) expect(got.error).toContain(s);
    });
  }
});
