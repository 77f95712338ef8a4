// The host door: config hostCall serving the guest's host.call import, in
// sessions and in executes, on both backends. Guests: session.wat (`ask`
// sends its input and prints the answer; `ask_bad`, `ask_big` send requests
// the host must refuse) and reactor.wat (`probe`: host.call(0, 0, 0, 0) + 100,
// no host_alloc). Native rows run once the native backend has sessions and
// the door (session-support.ts).
import { afterEach, describe, expect, test } from 'vitest';
import {
  AbortError, HOST_CALL_MAX_BYTES, type HostCall, type SandboxConfig, type SessionCallResult,
} from '../../dist/esm/index.js';
import { stallMeter } from '../hostile/health.js';
import { BACKENDS } from './backends.js';
import { sandbox, wat } from './helpers.js';
import { FAULT_FLOOD, trackedSandboxes, SESSION_GUEST } from './session-support.js';

const g = SESSION_GUEST;
const faults = (r: { hostCallFaults?: string[] }): string[] => r.hostCallFaults ?? [];

describe.each(BACKENDS)('host.call [%s]', (backend) => {
  const tracked = trackedSandboxes(backend);
  const make = tracked.make;
  /** One `ask` call with `input` on a new session of a sandbox with `hostCall`. */
  const ask = async (hostCall: HostCall | undefined, input: string | Uint8Array, config: SandboxConfig = {}): Promise<SessionCallResult> => {
    const s = await make({ ...config, ...(hostCall ? { hostCall } : {}) }).openSession(g);
    return s.call('ask', { input });
  };
  afterEach(() => tracked.destroyAll());

  test('the answer round-trips: request bytes in, answer bytes placed through host_alloc', async () => {
    const seen: Buffer[] = [];
    const r = await ask((req) => {
      seen.push(Buffer.from(req));
      return Buffer.concat([Buffer.from('re:'), req]);
    }, Buffer.from([0x70, 0x69, 0x6e, 0x67, 0x00, 0xff]));
    expect(seen).toEqual([Buffer.from([0x70, 0x69, 0x6e, 0x67, 0x00, 0xff])]);
    expect(r.stdout).toEqual(Buffer.from([0x72, 0x65, 0x3a, 0x70, 0x69, 0x6e, 0x67, 0x00, 0xff]));
    expect(r.returnValue).toBe(9);
    expect(faults(r)).toEqual([]);
    expect(r.sessionEnded).toBeUndefined();
  });

  test('a string answer is sent as UTF-8; an async answer works; the event loop runs meanwhile', async () => {
    expect((await ask(() => 'héllo', 'x')).stdout.toString()).toBe('héllo');
    const tick = stallMeter();
    const started = performance.now();
    const r = await ask(async (req) => {
      await new Promise((res) => setTimeout(res, 300));
      return `late:${req.toString()}`;
    }, 'q');
    const waitedMs = performance.now() - started;
    const ticks = tick.stop();
    expect(r.stdout.toString()).toBe('late:q');
    expect(r.returnValue).toBe(6);
    // Blocked, the loop would show one gap as long as the whole wait; free, many short ones.
    expect(waitedMs).toBeGreaterThanOrEqual(290);
    expect(ticks.maxGapMs).toBeLessThan(waitedMs / 2);
  });

  test('an answer of exactly 16 MiB is delivered', async () => {
    const r = await ask(() => Buffer.alloc(HOST_CALL_MAX_BYTES, 0x62), 'big', { memoryLimitMb: 40 });
    expect(r.returnValue).toBe(HOST_CALL_MAX_BYTES);
    expect(r.stdoutBytes).toBe(HOST_CALL_MAX_BYTES);
    expect(faults(r)).toEqual([]);
  });

  test('null answers -1 (no host here); without hostCall host.call answers -1', async () => {
    const r = await ask(() => null, 'x');
    expect(r.returnValue).toBe(-1);
    expect(faults(r)).toEqual([]);
    expect((await ask(undefined, 'x')).returnValue).toBe(-1);
  });

  test('a throwing or rejecting hostCall answers -2; the message is recorded, never shown to the guest', async () => {
    const thrown = await ask(() => {
      throw new Error('db password is hunter2');
    }, 'x');
    expect(thrown.returnValue).toBe(-2);
    expect(faults(thrown).join('\n')).toContain('db password is hunter2');
    expect(thrown.stdout.toString()).not.toContain('hunter2');
    expect(thrown.sessionEnded).toBeUndefined();
    const rejected = await ask(async () => {
      throw new Error('upstream 503');
    }, 'x');
    expect(rejected.returnValue).toBe(-2);
    expect(faults(rejected).join('\n')).toContain('upstream 503');
  });

  test('faults belong to the call that had them', async () => {
    let fail = true;
    const s = await make({ hostCall: () => {
      if (fail) throw new Error('first only');
      return 'ok';
    } }).openSession(g);
    expect(faults(await s.call('ask', { input: 'a' }))).toHaveLength(1);
    fail = false;
    const second = await s.call('ask', { input: 'b' });
    expect(second.returnValue).toBe(2);
    expect(faults(second)).toEqual([]);
  });

  test('a request over 16 MiB is refused (-2, fault) without calling hostCall', async () => {
    let calls = 0;
    const s = await make({ memoryLimitMb: 32, hostCall: () => (calls++, 'x') }).openSession(g);
    const r = await s.call('ask_big');
    expect(r.returnValue).toBe(-2);
    expect(faults(r).join('\n')).toMatch(/request of 17825792 bytes is over the 16 MiB cap/);
    expect(calls).toBe(0);
  });

  test('a request outside guest memory is refused (-2, fault) without calling hostCall', async () => {
    let calls = 0;
    const s = await make({ hostCall: () => (calls++, 'x') }).openSession(g);
    const r = await s.call('ask_bad');
    expect(r.returnValue).toBe(-2);
    expect(faults(r)).toHaveLength(1);
    expect(calls).toBe(0);
    expect(s.ended).toBeNull();
  });

  test('the faults kept per call are capped (a guest looping on bad requests cannot grow the host)', async () => {
    let calls = 0;
    const s = await make({ hostCall: () => (calls++, 'x') }).openSession(FAULT_FLOOD);
    const r = await s.call('flood');
    expect(r.returnValue).toBe(1000);
    expect(calls).toBe(0);
    const list = faults(r);
    expect(list).toHaveLength(101); // 100 kept, then one line counting the rest
    expect(list.at(-1)).toMatch(/\b900 more\b/);
  });

  test('an answer over 16 MiB is refused (-2, fault)', async () => {
    const r = await ask(() => Buffer.alloc(HOST_CALL_MAX_BYTES + 1), 'x', { memoryLimitMb: 40 });
    expect(r.returnValue).toBe(-2);
    expect(faults(r).join('\n')).toMatch(/answer of 16777217 bytes is over the 16 MiB cap/);
    expect(r.stdoutBytes).toBe(0);
  });

  test('an answer with no room under the memory cap', async () => {
    const r = await ask(() => Buffer.alloc(3 * 1024 * 1024), 'x', { memoryLimitMb: 2 });
    if (backend === 'js') {
      // V8 answers the refused grow in host_alloc with -1, host_alloc returns 0: a fault, the session goes on.
      expect(r.sessionEnded).toBeUndefined();
      expect(r.returnValue).toBe(-2);
      expect(faults(r).join('\n')).toMatch(/host_alloc\(3145728\) returned 0/);
    } else {
      // wasmtime traps on the refused grow inside host_alloc (docs/limits.md, "The limits").
      expect(r).toMatchObject({ trap: 'memory', sessionEnded: 'trap' });
    }
  });

  test('the deadline ends a call waiting on a hostCall that never answers; its late answer is dropped', async () => {
    const s = await make({ timeoutMs: 30_000, hostCall: () => new Promise(() => undefined) }).openSession(g);
    const tick = stallMeter();
    const started = performance.now();
    const r = await s.call('ask', { input: 'x', timeoutMs: 600 });
    const waitedMs = performance.now() - started;
    const ticks = tick.stop();
    expect(r).toMatchObject({ timedOut: true, sessionEnded: 'timeout', returnValue: null });
    expect(ticks.maxGapMs).toBeLessThan(waitedMs / 2);
    let answer!: (v: string) => void;
    const s2 = await make({ timeoutMs: 30_000, hostCall: () => new Promise<string>((res) => (answer = res)) }).openSession(g);
    const r2 = await s2.call('ask', { input: 'x', timeoutMs: 300 });
    expect(r2.timedOut).toBe(true);
    answer('too late'); // must not reach anything, nor throw
    await new Promise((res) => setTimeout(res, 50));
    expect(s2.ended).toBe('timeout');
  });

  test('an abort during a hostCall rejects AbortError and ends the session', async () => {
    const s = await make({ timeoutMs: 30_000, hostCall: () => new Promise(() => undefined) }).openSession(g);
    const ac = new AbortController();
    const p = s.call('ask', { input: 'x', signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
    expect(s.ended).toBe('aborted');
  });

  test("a session's hostCall is used over the sandbox's", async () => {
    const sb = make({ hostCall: () => 'sandbox' });
    const own = await sb.openSession(g, { hostCall: () => 'session' });
    const plain = await sb.openSession(g);
    expect((await own.call('ask', { input: 'x' })).stdout.toString()).toBe('session');
    expect((await plain.call('ask', { input: 'x' })).stdout.toString()).toBe('sandbox');
  });

  // ---- executes (the entry option): the door works without sessions too ----------

  test('execute: hostCall serves host.call (null: -1, so probe exits 99 with the empty request)', async () => {
    const seen: number[] = [];
    const r = await make({ hostCall: (req) => (seen.push(req.length), null) }).execute([wat('reactor')], { entry: 'probe' });
    expect(r.exitCode).toBe(99);
    expect(seen).toEqual([0]);
  });

  test('execute: an answer to a guest without host_alloc is a fault (-2)', async () => {
    const r = await make({ hostCall: () => 'answer' }).execute([wat('reactor')], { entry: 'probe' });
    expect(r.exitCode).toBe(98);
    expect(faults(r).join('\n')).toContain('host_alloc');
  });

  test('execute: a throwing hostCall is -2 with the fault recorded', async () => {
    const r = await make({ hostCall: () => {
      throw new Error('nope-detail');
    } }).execute([wat('reactor')], { entry: 'probe' });
    expect(r.exitCode).toBe(98);
    expect(faults(r).join('\n')).toContain('nope-detail');
    expect(r.stdout.toString()).not.toContain('nope-detail');
  });

  test('execute: the deadline ends an execute waiting on a hostCall that never answers', async () => {
    const tick = stallMeter();
    const started = performance.now();
    const r = await make({ timeoutMs: 600, hostCall: () => new Promise(() => undefined) }).execute([wat('reactor')], { entry: 'probe' });
    const waitedMs = performance.now() - started;
    const ticks = tick.stop();
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(ticks.maxGapMs).toBeLessThan(waitedMs / 2);
  });

  test('execute: an abort during a hostCall rejects AbortError', async () => {
    const ac = new AbortController();
    const p = make({ timeoutMs: 30_000, hostCall: () => new Promise(() => undefined) })
      .execute([wat('reactor')], { entry: 'probe', signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
  });

  test('config: hostCall must be a function', () => {
    expect(() => sandbox(backend, { hostCall: 'nope' as unknown as HostCall })).toThrow(/hostCall/);
  });
});
