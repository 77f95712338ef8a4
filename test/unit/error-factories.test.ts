// The factories that write every aborted, destroyed and queue-timeout text (src-ts/shared/errors.ts):
// each one's class, code and exact words, which src-rs copies.
import { describe, expect, test } from 'vitest';
import {
  AbortError, ResourceError, SandboxError, abortedError, destroyedError, errorFromCode, queueTimeoutError,
} from '../../dist/esm/shared/errors.js';

describe('error factories', () => {
  test('destroyedError: AbortError, DESTROYED, says to create a new sandbox', () => {
    const e = destroyedError();
    expect(e).toBeInstanceOf(AbortError);
    expect(e).toBeInstanceOf(SandboxError);
    expect(e.name).toBe('AbortError');
    expect(e.code).toBe('DESTROYED');
    expect(e.message).toBe('this sandbox was destroyed: create a new one');
  });

  test('abortedError: AbortError, ABORTED, quotes the reason', () => {
    const e = abortedError('execute', 'enough');
    expect(e).toBeInstanceOf(AbortError);
    expect(e.name).toBe('AbortError');
    expect(e.code).toBe('ABORTED');
    expect(e.message).toBe('the execute was aborted: enough');
    expect(abortedError('execute', new Error('stop')).message).toBe('the execute was aborted: Error: stop');
    expect(abortedError('wait for job j-1', 'bye').message).toBe('the wait for job j-1 was aborted: bye');
  });

  test('abortedError: an absent reason is "no reason given"', () => {
    expect(abortedError('execute', undefined).message).toBe('the execute was aborted: no reason given');
    expect(abortedError('execute', null).message).toBe('the execute was aborted: no reason given');
    // A reason that is present but falsy is still quoted.
    expect(abortedError('execute', 0).message).toBe('the execute was aborted: 0');
  });

  test('abortedError: a session call says whether the session goes on or has ended', () => {
    const before = abortedError('session call', 'x', 'session goes on');
    expect(before.code).toBe('ABORTED');
    expect(before.message).toBe('the session call was aborted: x; it had not started, so the session goes on');
    const during = abortedError('session call', 'x', 'session ended');
    expect(during.code).toBe('ABORTED');
    expect(during.message).toBe('the session call was aborted: x; the session has ended');
  });

  test('the AbortError constructor\'s default message is the factory\'s', () => {
    expect(new AbortError().message).toBe(abortedError('execute', undefined).message);
    expect(new AbortError().code).toBe('ABORTED');
  });

  test('queueTimeoutError: ResourceError, QUEUE_TIMEOUT, what waited how long for what, and the remedy', () => {
    const e = queueTimeoutError('execute', 250, 'a free slot (maxConcurrency 2)', 'raise maxConcurrency or queueTimeoutMs');
    expect(e).toBeInstanceOf(ResourceError);
    expect(e.name).toBe('ResourceError');
    expect(e.code).toBe('QUEUE_TIMEOUT');
    expect(e.message).toBe('the execute waited 250 ms for a free slot (maxConcurrency 2): raise maxConcurrency or queueTimeoutMs');
    // Whole ms: a deadline computed from performance.now() is fractional.
    expect(queueTimeoutError('session call', 99.6, 'a free slot', 'r').message).toBe('the session call waited 100 ms for a free slot: r');
  });

  test('queueTimeoutError: the memory-budget wait keeps its own code', () => {
    const e = queueTimeoutError('session open', 10, '64 MiB of the process memory budget', 'raise it', 'MEMORY_BUDGET');
    expect(e).toBeInstanceOf(ResourceError);
    expect(e.code).toBe('MEMORY_BUDGET');
    expect(e.message).toBe('the session open waited 10 ms for 64 MiB of the process memory budget: raise it');
  });

  test('errorFromCode rebuilds the same class and code from a factory\'s code and text', () => {
    for (const made of [destroyedError(), abortedError('execute', 'r'), queueTimeoutError('execute', 1, 'a', 'b')]) {
      const again = errorFromCode(made.code, made.message);
      expect(again.constructor).toBe(made.constructor);
      expect({ code: again.code, message: again.message }).toEqual({ code: made.code, message: made.message });
    }
  });
});
