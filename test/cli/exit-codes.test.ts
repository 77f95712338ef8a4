// Unit tests of the CLI's one exit-status policy (src-ts/cli/exit-codes.ts).
// Run `node scripts/build-ts.mjs` first: tests import the built files.
import { describe, expect, test } from 'vitest';
import { EXIT, exitCodeForError, exitCodeForResult, stopOf } from '../../dist/esm/cli/exit-codes.js';
import { UsageError } from '../../dist/esm/cli/usage.js';
import { ConfigError, ModuleError, SandboxError } from '../../dist/esm/shared/errors.js';
import { QueueError } from '../../dist/esm/queue/errors.js';

describe('exitCodeForResult', () => {
  const base = { exitCode: 0 as number | null, timedOut: false };
  test('the guest code as is, clamped to 255', () => {
    expect(exitCodeForResult({ ...base, exitCode: 0 })).toBe(0);
    expect(exitCodeForResult({ ...base, exitCode: 42 })).toBe(42);
    expect(exitCodeForResult({ ...base, exitCode: 255 })).toBe(255);
    expect(exitCodeForResult({ ...base, exitCode: 256 })).toBe(255);
    expect(exitCodeForResult({ ...base, exitCode: 70000 })).toBe(255);
    expect(exitCodeForResult({ ...base, exitCode: -1 })).toBe(255);
  });

  test('documented statuses', () => {
    expect(EXIT).toEqual({
      usage: 2, timeout: 124, internal: 125, notRunnable: 126, notFound: 127, trap: 134, memoryLimit: 137, sigint: 130, sigterm: 143,
    });
  });

  test('the limit field decides: wall clock and fuel 124, memory 137, table and stack 134', () => {
    expect(exitCodeForResult({ exitCode: null, timedOut: true, limit: 'wall_clock' })).toBe(124);
    expect(exitCodeForResult({ exitCode: null, timedOut: true, limit: 'fuel' })).toBe(124);
    expect(exitCodeForResult({ exitCode: null, timedOut: false, trap: 'stack_overflow', limit: 'stack' })).toBe(134);
    expect(exitCodeForResult({ exitCode: null, timedOut: false, trap: 'other', limit: 'table' })).toBe(134);
    // `limit` alone decides, whatever the other fields say.
    expect(exitCodeForResult({ exitCode: null, timedOut: false, limit: 'wall_clock' })).toBe(124);
    expect(exitCodeForResult({ exitCode: 0, timedOut: false, limit: 'table' })).toBe(134);
    // The message does not matter once `limit` is there: no text matching.
    expect(exitCodeForResult({ exitCode: 1, timedOut: false, trap: 'memory', error: 'refused', limit: 'memory' })).toBe(137);
    expect(exitCodeForResult({ exitCode: 1, timedOut: false, trap: 'memory', error: 'anything', limit: 'memory' })).toBe(137);
  });

  test('a limit wins over the exit code; a guest exiting 137 on its own was not stopped', () => {
    expect(exitCodeForResult({ exitCode: 3, timedOut: false, trap: 'memory', limit: 'memory' })).toBe(137);
    expect(stopOf({ exitCode: 137, timedOut: false })).toBeUndefined();
    expect(exitCodeForResult({ exitCode: 137, timedOut: false })).toBe(137);
  });

  test('without a limit: a trap is the guest\'s own (134), whatever its message says', () => {
    expect(exitCodeForResult({ exitCode: null, timedOut: false, trap: 'unreachable' })).toBe(134);
    expect(exitCodeForResult({ exitCode: 1, timedOut: false, trap: 'memory', error: 'wasm trap: out of bounds memory access' })).toBe(134);
    expect(exitCodeForResult({ exitCode: 1, timedOut: false, trap: 'memory', error: 'memory limit: the guest asked for ...' })).toBe(134);
  });

  test('no code and no reason: mimobox failure', () => {
    expect(exitCodeForResult({ exitCode: null, timedOut: false })).toBe(EXIT.internal);
  });
});

describe('exitCodeForError', () => {
  test('usage: 2 in every scope', () => {
    for (const scope of ['program', 'service'] as const) {
      expect(exitCodeForError(new UsageError('bad'), scope)).toBe(2);
      expect(exitCodeForError(new ConfigError('timeoutMs', 'bad'), scope)).toBe(2);
      expect(exitCodeForError(new SandboxError('DIR_NOT_FOUND', 'no such dir'), scope)).toBe(2);
      expect(exitCodeForError(new SandboxError('COMMAND_INVALID', 'bad cmd'), scope)).toBe(2);
      expect(exitCodeForError(new QueueError('CONFIG_INVALID', 'bad redis url'), scope)).toBe(2);
    }
  });

  test('program scope (mimobox run FILE): 127 missing, 126 cannot run, 130 aborted, else 125', () => {
    expect(exitCodeForError(new ModuleError('MODULE_NOT_FOUND', 'x'), 'program')).toBe(127);
    for (const code of ['MODULE_INVALID', 'MODULE_TOO_LARGE', 'NO_ENTRY', 'IMPORT_MISSING'] as const) {
      expect(exitCodeForError(new ModuleError(code, 'x'), 'program')).toBe(126);
    }
    expect(exitCodeForError(new SandboxError('ABORTED', 'x'), 'program')).toBe(130);
    expect(exitCodeForError(new SandboxError('NATIVE_UNAVAILABLE', 'x'), 'program')).toBe(125);
    expect(exitCodeForError(new SandboxError('INTERNAL', 'x'), 'program')).toBe(125);
  });

  test('service scope (worker, python) and errors of unknown kind: 125', () => {
    expect(exitCodeForError(new ModuleError('MODULE_NOT_FOUND', 'x'))).toBe(125);
    expect(exitCodeForError(new QueueError('QUEUE_UNAVAILABLE', 'x'))).toBe(125);
    expect(exitCodeForError(new Error('bug'), 'program')).toBe(125);
    expect(exitCodeForError('thrown string')).toBe(125);
  });
});
