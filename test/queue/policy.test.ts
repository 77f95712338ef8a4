// The queue's pure policy: payload validation, limits granted by the worker,
// failure codes through Redis, Redis URLs; and that the root import of the
// package never loads BullMQ. No Redis needed.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { buildPayload, createQueueClient } from '../../dist/esm/queue/client.js';
import { createQueueWorker } from '../../dist/esm/queue/worker.js';
import { fromFailedReason, QueueError, toFailedReason } from '../../dist/esm/queue/errors.js';
import { parseRedisUrl } from '../../dist/esm/queue/connection.js';
import { grantLimits, type WorkerCeiling } from '../../dist/esm/queue/limits.js';
import { DEFAULT_PAYLOAD_LIMITS, validatePayload } from '../../dist/esm/queue/payload.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHA = 'a'.repeat(64);
const ok = { v: 1, module: SHA, args: ['x'], stdin: '', env: { K: 'v' }, limits: {} };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QueueError);
    return (e as QueueError).code;
  }
  throw new Error('expected a QueueError');
}

describe('validatePayload', () => {
  test('a well-formed payload passes and decodes stdin', () => {
    const v = validatePayload({ ...ok, stdin: Buffer.from('hi').toString('base64') });
    expect(v.stdin.toString()).toBe('hi');
    expect(v.args).toEqual(['x']);
    expect(v.env).toEqual({ K: 'v' });
  });

  test.each([
    ['not an object', 'x'],
    ['an array', [ok]],
    ['wrong version', { ...ok, v: 2 }],
    ['a module that is not a hash', { ...ok, module: 'hello.wasm' }],
    ['an uppercase hash', { ...ok, module: SHA.toUpperCase() }],
    ['args not an array', { ...ok, args: 'a b' }],
    ['a number in args', { ...ok, args: ['a', 1] }],
    ['NUL in an arg', { ...ok, args: ['a\0b'] }],
    ['stdin not a string', { ...ok, stdin: [1, 2] }],
    ['stdin not base64', { ...ok, stdin: 'not base64!' }],
    ['env an array', { ...ok, env: ['K=v'] }],
    ['env value a number', { ...ok, env: { K: 1 } }],
    ['env name with =', { ...ok, env: { 'A=B': 'v' } }],
    ['a grant smuggled in', { ...ok, fsReadwrite: ['/'] }],
    ['an unknown limit', { ...ok, limits: { cpus: 4 } }],
    ['a negative timeout', { ...ok, limits: { timeoutMs: -1 } }],
    ['a fractional memory cap', { ...ok, limits: { memoryLimitMb: 1.5 } }],
    ['a string fuel', { ...ok, limits: { fuel: '1e9' } }],
    ['limits null', { ...ok, limits: null }],
  ])('%s: PAYLOAD_INVALID', (_name, payload) => {
    expect(code(() => validatePayload(payload))).toBe('PAYLOAD_INVALID');
  });

  test.each([
    ['too many args', { ...ok, args: Array(DEFAULT_PAYLOAD_LIMITS.maxArgs + 1).fill('a') }],
    ['args too long', { ...ok, args: ['a'.repeat(DEFAULT_PAYLOAD_LIMITS.maxArgsBytes + 1)] }],
    ['stdin too large', { ...ok, stdin: Buffer.alloc(DEFAULT_PAYLOAD_LIMITS.maxStdinBytes + 3).toString('base64') }],
    ['too many env entries', { ...ok, env: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`K${i}`, 'v'])) }],
    ['env too large', { ...ok, env: { K: 'v'.repeat(DEFAULT_PAYLOAD_LIMITS.maxEnvBytes) } }],
  ])('%s: PAYLOAD_TOO_LARGE', (_name, payload) => {
    expect(code(() => validatePayload(payload))).toBe('PAYLOAD_TOO_LARGE');
  });

  test('limits at exactly the size bounds pass', () => {
    const max = DEFAULT_PAYLOAD_LIMITS;
    expect(() => validatePayload({ ...ok, args: Array(max.maxArgs).fill('a') })).not.toThrow();
    expect(() => validatePayload({ ...ok, stdin: Buffer.alloc(max.maxStdinBytes).toString('base64') })).not.toThrow();
  });

  test('the client runs the same checks before submitting', () => {
    expect(code(() => buildPayload({ module: 'nope' }))).toBe('PAYLOAD_INVALID');
    expect(code(() => buildPayload({ module: SHA, args: [1 as unknown as string] }))).toBe('PAYLOAD_INVALID');
    expect(code(() => buildPayload({ module: { sha256: SHA, size: 1 }, stdin: Buffer.alloc(16 * 1024 * 1024 + 1) }))).toBe('PAYLOAD_TOO_LARGE');
    expect(buildPayload({ module: SHA, stdin: 'x' }).stdin).toBe('eA==');
  });
});

describe('grantLimits: a job asks for less than its worker grants, never more', () => {
  const ceiling: WorkerCeiling = { timeoutMs: 2000, memoryLimitMb: 64, fuel: 1_000_000, maxOutputBytes: 1024 };

  test('unset limits are the worker\'s', () => {
    expect(grantLimits({}, ceiling)).toEqual({ timeoutMs: 2000, memoryLimitMb: 64, fuel: 1_000_000, maxOutputBytes: 1024 });
  });

  test('less is granted', () => {
    expect(grantLimits({ timeoutMs: 100, memoryLimitMb: 16, fuel: 1000, maxOutputBytes: 10 }, ceiling)).toEqual({
      timeoutMs: 100, memoryLimitMb: 16, fuel: 1000, maxOutputBytes: 10,
    });
  });

  test.each([
    ['timeoutMs', { timeoutMs: 2001 }],
    ['memoryLimitMb', { memoryLimitMb: 65 }],
    ['maxOutputBytes', { maxOutputBytes: 1025 }],
    ['fuel over the worker\'s budget', { fuel: 1_000_001 }],
    ['no fuel metering under a metered worker', { fuel: null }],
  ])('more %s: LIMIT_EXCEEDS_WORKER', (_name, limits) => {
    expect(code(() => grantLimits(limits, ceiling))).toBe('LIMIT_EXCEEDS_WORKER');
  });

  test('an exact worker budget caps the job\'s and is the default', () => {
    const exact = { ...ceiling, fuel: 5000 };
    expect(grantLimits({}, exact).fuel).toBe(5000);
    expect(grantLimits({ fuel: 5000 }, exact).fuel).toBe(5000);
    expect(code(() => grantLimits({ fuel: 5001 }, exact))).toBe('LIMIT_EXCEEDS_WORKER');
  });

  test('a worker without metering grants any budget, and none', () => {
    const off = { ...ceiling, fuel: null };
    expect(grantLimits({ fuel: 10 ** 15 }, off).fuel).toBe(10 ** 15);
    expect(grantLimits({}, off).fuel).toBe(null);
  });
});

describe('failure codes through Redis', () => {
  test('a coded failedReason comes back as a typed QueueError', () => {
    const e = fromFailedReason(toFailedReason('LIMIT_EXCEEDS_WORKER', 'too much'), '7');
    expect(e).toMatchObject({ code: 'LIMIT_EXCEEDS_WORKER', message: 'too much', jobId: '7', name: 'QueueError' });
    expect(fromFailedReason(toFailedReason('NO_ENTRY', 'no _start'), '8').code).toBe('NO_ENTRY');
  });

  test('anything else is JOB_FAILED with the reason as message', () => {
    expect(fromFailedReason('job stalled more than allowable limit', '1')).toMatchObject({ code: 'JOB_FAILED', message: 'job stalled more than allowable limit' });
    expect(fromFailedReason('NOT_A_CODE: x', '1').code).toBe('JOB_FAILED');
    expect(fromFailedReason(undefined, '1').code).toBe('JOB_FAILED');
  });
});

test('client and worker options are checked before anything connects', () => {
  expect(code(() => createQueueClient({ connection: 'redis://127.0.0.1:1', atempts: 3 } as never))).toBe('CONFIG_INVALID');
  expect(code(() => createQueueClient({} as never))).toBe('CONFIG_INVALID');
  expect(code(() => createQueueClient({ connection: 'redis://127.0.0.1:1', queue: 'a:b' }))).toBe('CONFIG_INVALID');
  expect(code(() => createQueueWorker({ connection: 'redis://127.0.0.1:1', concurency: 2 } as never))).toBe('CONFIG_INVALID');
  expect(code(() => createQueueWorker({ connection: 'redis://127.0.0.1:1', concurrency: 0 }))).toBe('CONFIG_INVALID');
  expect(code(() => createQueueWorker({ connection: 'redis://127.0.0.1:1', lockDurationMs: -1 }))).toBe('CONFIG_INVALID');
  expect(code(() => createQueueWorker({ connection: 'redis://127.0.0.1:1', name: 'has space' }))).toBe('CONFIG_INVALID');
  expect(code(() => createQueueWorker({ connection: 'redis://127.0.0.1:1', payloadLimits: { maxArgs: 0 } }))).toBe('CONFIG_INVALID');
  // The sandbox config is validated at start too, with the sandbox's own error.
  expect(() => createQueueWorker({ connection: 'redis://127.0.0.1:1', sandbox: { memoryLimitMb: -1 } })).toThrow(/memoryLimitMb/);
});

test('parseRedisUrl', () => {
  expect(parseRedisUrl('redis://127.0.0.1:6380')).toEqual({ host: '127.0.0.1', port: 6380 });
  expect(parseRedisUrl('redis://u:p%40ss@host/2')).toEqual({ host: 'host', port: 6379, username: 'u', password: 'p@ss', db: 2 });
  expect(parseRedisUrl('rediss://[::1]:7000').tls).toEqual({});
  expect(code(() => parseRedisUrl('http://x'))).toBe('CONFIG_INVALID');
  expect(code(() => parseRedisUrl('redis://x/db'))).toBe('CONFIG_INVALID');
  expect(code(() => parseRedisUrl('nope'))).toBe('CONFIG_INVALID');
});

describe('cold start: the root entry never loads BullMQ', () => {
  /** Every file reachable through static and dynamic relative imports from an ESM entry. */
  function importGraph(entry: string): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    const visit = (file: string) => {
      if (graph.has(file)) return;
      const src = readFileSync(file, 'utf8');
      const specs = [...src.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      graph.set(file, specs);
      for (const s of specs) if (s.startsWith('.')) visit(resolve(dirname(file), s));
    };
    visit(entry);
    return graph;
  }

  test('ESM: no file reachable from dist/esm/index.js imports bullmq or ioredis', () => {
    const graph = importGraph(join(ROOT, 'dist/esm/index.js'));
    expect(graph.size).toBeGreaterThan(5);
    const bare = [...graph.values()].flat().filter((s) => !s.startsWith('.') && !s.startsWith('node:'));
    expect(bare.filter((s) => /bullmq|ioredis/.test(s))).toEqual([]);
    // The queue entry itself does import it: the check above can see such an import.
    const queue = [...importGraph(join(ROOT, 'dist/esm/queue/index.js')).values()].flat();
    expect(queue).toContain('bullmq');
  });

  test('CJS: require of the root leaves bullmq unloaded; of ./queue loads it', () => {
    const probe = (entry: string) =>
      execFileSync(process.execPath, ['-e', `require(${JSON.stringify(entry)}); console.log(Object.keys(require.cache).some((k) => /node_modules[\\\\/]bullmq/.test(k)))`], { cwd: ROOT }).toString().trim();
    expect(probe('mimobox-wasm')).toBe('false');
    // The CLI loads it only when the worker command runs.
    expect(probe(join(ROOT, 'dist/cjs/cli/main.js'))).toBe('false');
    expect(probe(join(ROOT, 'dist/cjs/cli/run.js'))).toBe('false');
    expect(probe('mimobox-wasm/queue')).toBe('true');
  });
});
