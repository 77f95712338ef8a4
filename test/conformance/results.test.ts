// Table-driven conformance: every case runs on every backend in BACKENDS and
// must give the expected result; when both backends run, their results must
// be identical field by field (minus documented differences, see `differs`).
import { describe, expect, test } from 'vitest';
import type { ExecuteOptions, LimitKind, SandboxConfig, SandboxResult, TrapKind } from '../../dist/esm/index.js';
import { BACKENDS, type BackendName } from './backends.js';
import { c, comparable, floodPattern, runOnce, wat, type ComparedField } from './helpers.js';

const MiB = 1024 * 1024;

interface Expect {
  exitCode?: number | null;
  stdout?: string | Buffer;
  stderr?: string;
  timedOut?: boolean;
  trap?: TrapKind | undefined;
  /** Which limit stopped the guest (result.limit); `undefined`: none did. */
  limit?: LimitKind | undefined;
  stdoutTruncated?: boolean;
  stderrTruncated?: boolean;
  stdoutBytes?: number;
  stderrBytes?: number;
  /**
   * Generous upper bound on elapsedMs (only where the contract promises
   * speed): a few times the time limit, where a limit that failed would let
   * the guest loop forever or sleep its 60 s.
   */
  maxElapsedMs?: number;
  /** Lower bound on elapsedMs: the guest sleeps, or a time limit must not fire early. */
  minElapsedMs?: number;
}

interface Case {
  name: string;
  cmd: string[];
  config?: SandboxConfig;
  opts?: ExecuteOptions;
  expect: Expect;
  /** Fields that may legitimately differ between backends, with the reason (docs/js-backend.md feature table). */
  differs?: { fields: ComparedField[]; why: string };
}

const memoryDiffers = {
  fields: ['stderr', 'stderrBytes'] as ComparedField[],
  why: 'native traps at the refused memory.grow; V8 returns -1, so the guest may print its own failure message first',
};

const CASES: Case[] = [
  { name: 'hello stdout', cmd: [wat('hello')], expect: { exitCode: 0, stdout: 'hello, world\n', stderr: '', timedOut: false, trap: undefined, limit: undefined, stdoutBytes: 13 } },
  {
    name: 'args and env seen by the guest',
    cmd: [c('args_env'), 'one', 'two words', ''],
    config: { env: { FOO: 'bar' } },
    opts: { env: { BAZ: 'qux', FOO: 'override' } },
    expect: {
      exitCode: 0,
      stdout: `argv[0]=${c('args_env')}\nargv[1]=one\nargv[2]=two words\nargv[3]=\n` +
        'env:HOME=/tmp\nenv:PATH=/usr/bin:/bin\nenv:TERM=dumb\nenv:SANDBOX=wasm\nenv:FOO=override\nenv:BAZ=qux\n',
    },
  },
  {
    name: 'defaultEnv false leaves only the caller env',
    cmd: [c('args_env')],
    config: { defaultEnv: false, env: { ONLY: '1' } },
    expect: { exitCode: 0, stdout: `argv[0]=${c('args_env')}\nenv:ONLY=1\n` },
  },
  { name: 'stdin echoed (string)', cmd: [c('echo_stdin')], opts: { stdin: 'héllo\nworld' }, expect: { exitCode: 0, stdout: 'héllo\nworld' } },
  {
    name: 'stdin echoed (Buffer, binary, 200 KiB)',
    cmd: [c('echo_stdin')],
    opts: { stdin: Buffer.from(Array.from({ length: 200 * 1024 }, (_, i) => (i * 7) & 0xff)) },
    expect: { exitCode: 0, stdout: Buffer.from(Array.from({ length: 200 * 1024 }, (_, i) => (i * 7) & 0xff)) },
  },
  { name: 'no stdin reads EOF', cmd: [c('echo_stdin')], expect: { exitCode: 0, stdout: '' } },
  { name: 'exit code 0', cmd: [c('exit_code'), '0'], expect: { exitCode: 0, trap: undefined } },
  { name: 'exit code 3', cmd: [c('exit_code'), '3'], expect: { exitCode: 3, trap: undefined } },
  { name: 'exit code 255', cmd: [c('exit_code'), '255'], expect: { exitCode: 255, trap: undefined } },
  // proc_exit(256): reported as the i32 the guest passed (not wrapped to 0). See docs/api.md, SandboxResult.
  { name: 'exit_big (proc_exit 256)', cmd: [wat('exit_big')], expect: { exitCode: 256, trap: undefined, timedOut: false } },
  { name: 'main-only module returns 42', cmd: [wat('main_only')], expect: { exitCode: 42, trap: undefined } },
  {
    name: 'infinite loop without calls times out',
    cmd: [wat('loop')], config: { timeoutMs: 200 },
    expect: { timedOut: true, limit: 'wall_clock', exitCode: null, maxElapsedMs: 1500, minElapsedMs: 180 },
  },
  {
    name: 'an exact fuel budget runs out',
    cmd: [wat('loop')], config: { fuel: 100_000, timeoutMs: 10_000 },
    expect: { timedOut: true, limit: 'fuel', trap: undefined, exitCode: null },
  },
  {
    name: 'infinite loop with calls times out',
    cmd: [wat('loop_calls')], config: { timeoutMs: 200 },
    expect: { timedOut: true, limit: 'wall_clock', exitCode: null, maxElapsedMs: 1500, minElapsedMs: 180 },
  },
  {
    name: 'sleep 60 s in poll_oneoff under a 500 ms timeout',
    cmd: [wat('sleep')], config: { timeoutMs: 500 },
    expect: { timedOut: true, limit: 'wall_clock', exitCode: null, stdout: '', maxElapsedMs: 1500, minElapsedMs: 450 },
  },
  {
    name: 'sleep 1 s completes (poll_oneoff clock)', cmd: [c('sleep'), '1'],
    expect: { exitCode: 0, stdout: 'slept\n', timedOut: false, minElapsedMs: 950 },
  },
  {
    name: 'memory bomb (WAT memory.grow) at 16 MiB',
    cmd: [wat('memory_grow')], config: { memoryLimitMb: 16 },
    expect: { trap: 'memory', limit: 'memory', exitCode: 1, timedOut: false },
  },
  {
    name: 'memory bomb (C malloc) at 16 MiB',
    cmd: [c('memory_bomb')], config: { memoryLimitMb: 16 },
    expect: { trap: 'memory', limit: 'memory', exitCode: 1, timedOut: false },
    differs: memoryDiffers,
  },
  {
    name: 'declared minimum memory over the cap',
    cmd: [wat('big_min_memory')], config: { memoryLimitMb: 16 },
    expect: { trap: 'memory', limit: 'memory', exitCode: 1, stdout: '' },
  },
  { name: 'declared minimum memory under the cap runs', cmd: [wat('big_min_memory')], config: { memoryLimitMb: 256 }, expect: { exitCode: 0, trap: undefined } },
  { name: 'stack overflow', cmd: [wat('stack_overflow')], expect: { trap: 'stack_overflow', limit: 'stack', exitCode: null } },
  { name: 'unreachable', cmd: [wat('unreachable')], expect: { trap: 'unreachable', exitCode: null } },
  { name: 'integer divide by zero', cmd: [wat('div_zero')], expect: { trap: 'integer_divide_by_zero', exitCode: null } },
  { name: 'out-of-bounds access is a memory trap', cmd: [wat('oob')], expect: { trap: 'memory', limit: undefined, exitCode: 1 } },
  {
    name: '5 MiB stdout with a 1 MiB cap',
    cmd: [c('output_flood'), String(5 * MiB)], config: { maxOutputBytes: MiB },
    expect: {
      exitCode: 0, stdout: floodPattern(MiB), stdoutTruncated: true, stdoutBytes: 5 * MiB,
      stderr: '', stderrTruncated: false, stderrBytes: 0,
    },
  },
  {
    name: 'floods on both streams at once',
    cmd: [c('output_flood'), String(3 * MiB), String(2 * MiB)], config: { maxOutputBytes: MiB },
    expect: {
      exitCode: 0, stdout: floodPattern(MiB), stdoutTruncated: true, stdoutBytes: 3 * MiB,
      stderrTruncated: true, stderrBytes: 2 * MiB,
    },
  },
  {
    name: 'output exactly at the cap is not truncated',
    cmd: [c('output_flood'), '1000', '1000'], config: { maxOutputBytes: 1000 },
    expect: { exitCode: 0, stdout: floodPattern(1000), stdoutTruncated: false, stdoutBytes: 1000, stderrTruncated: false, stderrBytes: 1000 },
  },
  {
    name: 'sha256 of 1 MiB (real computation)',
    cmd: [c('sha256sum'), '1'],
    expect: { exitCode: 0, stdout: '7293cc1ed05355448c0ee1b1d51909d991635cab45a57f7d892c1f77fc4e54fe\n' },
  },
  { name: 'nbody 1000 steps (floating point)', cmd: [c('nbody'), '1000'], expect: { exitCode: 0, stdout: '-0.169075164\n-0.169087605\n' } },
  { name: '10 MiB data segment module', cmd: [wat('big_data')], config: { memoryLimitMb: 64 }, expect: { exitCode: 0, trap: undefined } },
];

const results = new Map<string, Map<BackendName, SandboxResult>>();

describe.each(BACKENDS)('conformance [%s]', (backend) => {
  test.each(CASES)('$name', async (tc) => {
    const t0 = performance.now();
    const r = await runOnce(backend, tc.cmd, tc.config, tc.opts);
    const wallMs = performance.now() - t0;
    if (!results.has(tc.name)) results.set(tc.name, new Map());
    results.get(tc.name)?.set(backend, r);
    const e = tc.expect;
    expect(r.backend).toBe(backend);
    if ('exitCode' in e) expect(r.exitCode, 'exitCode').toBe(e.exitCode);
    if ('trap' in e) expect(r.trap, `trap (error: ${r.error})`).toBe(e.trap);
    if ('timedOut' in e) expect(r.timedOut, 'timedOut').toBe(e.timedOut);
    if ('limit' in e) expect(r.limit, `limit (error: ${r.error})`).toBe(e.limit);
    if (e.stdout !== undefined) {
      const want = Buffer.isBuffer(e.stdout) ? e.stdout : Buffer.from(e.stdout);
      expect(r.stdout.length, 'stdout length').toBe(want.length);
      expect(r.stdout.equals(want), 'stdout bytes').toBe(true);
    }
    if (e.stderr !== undefined) expect(r.stderr.toString()).toBe(e.stderr);
    for (const f of ['stdoutTruncated', 'stderrTruncated', 'stdoutBytes', 'stderrBytes'] as const) {
      if (e[f] !== undefined) expect(r[f], f).toBe(e[f]);
    }
    if (e.maxElapsedMs !== undefined) expect(r.elapsedMs).toBeLessThan(e.maxElapsedMs);
    // Timers may fire a clock tick early: the bounds are 90-95 % of the sleep or limit.
    if (e.minElapsedMs !== undefined) expect(r.elapsedMs).toBeGreaterThanOrEqual(e.minElapsedMs);
    // elapsedMs times this execute: some time passed, all of it inside the call.
    expect(r.elapsedMs).toBeGreaterThan(0);
    expect(r.elapsedMs).toBeLessThanOrEqual(wallMs);
    // Both backends meter only with an exact budget (fuel: N).
    expect(r.fuelConsumed === undefined || typeof tc.config?.fuel === 'number').toBe(true);
    if (r.trap !== undefined || r.timedOut) expect(typeof r.error).toBe('string');
    // Kept bytes never exceed the cap; totals never fall below what was kept.
    expect(r.stdoutBytes).toBeGreaterThanOrEqual(r.stdout.length);
    expect(r.stderrBytes).toBeGreaterThanOrEqual(r.stderr.length);
  });
});

describe.skipIf(BACKENDS.length < 2)('native and js give identical results', () => {
  test.each(CASES)('$name', (tc) => {
    const byBackend = results.get(tc.name);
    const native = byBackend?.get('native');
    const js = byBackend?.get('js');
    if (!native || !js) throw new Error(`case "${tc.name}" did not run on both backends`);
    const skip = tc.differs?.fields ?? [];
    expect(comparable(js, skip)).toEqual(comparable(native, skip));
  });
});
