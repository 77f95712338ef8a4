// Unit tests of the CLI's small parsers (src-ts/cli/parse.ts). Run
// `node scripts/build-ts.mjs` first: tests import the built files.
import { describe, expect, test } from 'vitest';
import {
  formatBytes,
  guestConfig,
  parseBackend,
  parseDirSpec,
  parseDuration,
  parseEnvSpec,
  parseFuel,
  parseMemoryMb,
  parseSize,
} from '../../dist/esm/cli/parse.js';
import { UsageError } from '../../dist/esm/cli/usage.js';

describe('parseDuration', () => {
  test.each([
    ['300ms', 300],
    ['5s', 5000],
    ['5', 5000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['24h', 86_400_000],
    [' 10S ', 10_000],
    ['1MS', 1],
  ])('%s -> %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(['', 's', '5q', '-1s', '0', '0ms', '0.4ms', '1e3', '5 s s', '25h', '1d'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(UsageError);
  });

  test('names the flag in the message', () => {
    expect(() => parseDuration('x', '--timeout')).toThrow(/^--timeout: expected a duration/);
  });
});

describe('parseSize', () => {
  test.each([
    ['100', 'B', 100],
    ['1k', 'B', 1024],
    ['512K', 'B', 512 * 1024],
    ['1M', 'B', 1024 ** 2],
    ['1MB', 'B', 1024 ** 2],
    ['1MiB', 'B', 1024 ** 2],
    ['1mib', 'B', 1024 ** 2],
    ['2G', 'B', 2 * 1024 ** 3],
    ['1.5M', 'B', 1.5 * 1024 ** 2],
    ['64B', 'B', 64],
    ['64', 'M', 64 * 1024 ** 2],
    ['64b', 'M', 64],
  ] as const)('%s (bare %s) -> %i', (text, bare, bytes) => {
    expect(parseSize(text, '--x', bare)).toBe(bytes);
  });

  test.each(['', 'M', '1X', '-1M', '0', '0K', '1.1', '1 M B', '1KiBB'])('rejects %j', (text) => {
    expect(() => parseSize(text, '--max-output')).toThrow(UsageError);
  });
});

describe('parseMemoryMb', () => {
  test.each([
    ['64M', 64],
    ['64', 64],
    ['1G', 1024],
    ['1GiB', 1024],
    ['2048K', 2],
  ])('%s -> %i MiB', (text, mb) => {
    expect(parseMemoryMb(text)).toBe(mb);
  });

  test.each(['1.5M', '512K', '100B', '0', 'lots'])('rejects %j', (text) => {
    expect(() => parseMemoryMb(text)).toThrow(/--memory/);
  });
});

describe('parseFuel', () => {
  test('numbers and off', () => {
    expect(parseFuel('1000')).toBe(1000);
    expect(parseFuel('1_000_000')).toBe(1_000_000);
    expect(parseFuel('off')).toBeNull();
    expect(parseFuel('OFF')).toBeNull();
  });
  test.each(['0', '-5', '1.5', 'many', '', '99999999999999999999'])('rejects %j', (text) => {
    expect(() => parseFuel(text)).toThrow(/--fuel/);
  });
});

describe('parseDirSpec', () => {
  test('HOST only: the guest sees the absolute host path', () => {
    expect(parseDirSpec('/data', '--dir')).toEqual({ host: '/data', guest: '/data' });
    expect(parseDirSpec('data', '--dir', '/work')).toEqual({ host: '/work/data', guest: '/work/data' });
  });
  test('HOST:GUEST', () => {
    expect(parseDirSpec('/srv/in:/in', '--dir')).toEqual({ host: '/srv/in', guest: '/in' });
    expect(parseDirSpec('rel:/sandbox', '--dir', '/w')).toEqual({ host: '/w/rel', guest: '/sandbox' });
    expect(parseDirSpec('/a:b:/c', '--dir')).toEqual({ host: '/a:b', guest: '/c' });
  });
  test('a colon not followed by / is part of the host path', () => {
    expect(parseDirSpec('/a:b', '--dir')).toEqual({ host: '/a:b', guest: '/a:b' });
  });
  test('Windows drive letters are not split', () => {
    expect(parseDirSpec('C:/data', '--dir', '/w').host).toMatch(/C:\/data$/);
    expect(parseDirSpec('C:\\data:/in', '--dir', '/w').guest).toBe('/in');
  });
  test('errors', () => {
    expect(() => parseDirSpec('', '--dir')).toThrow(UsageError);
    expect(() => parseDirSpec('/data:', '--ro-dir')).toThrow(/--ro-dir: empty guest path/);
  });
});

describe('parseEnvSpec', () => {
  test('K=V, with = and empty values', () => {
    expect(parseEnvSpec('A=1')).toEqual(['A', '1']);
    expect(parseEnvSpec('A=b=c')).toEqual(['A', 'b=c']);
    expect(parseEnvSpec('A=')).toEqual(['A', '']);
  });
  test('K alone copies the host value', () => {
    expect(parseEnvSpec('FOO', { FOO: 'bar' })).toEqual(['FOO', 'bar']);
    expect(() => parseEnvSpec('FOO', {})).toThrow(/FOO is not set/);
  });
  test('empty name', () => {
    expect(() => parseEnvSpec('=x')).toThrow(UsageError);
    expect(() => parseEnvSpec('')).toThrow(UsageError);
  });
});

describe('the options run, worker and python share', () => {
  test('guestConfig sets only the fields given', () => {
    expect(guestConfig({})).toEqual({});
    expect(
      guestConfig({ timeout: '2s', memory: '32M', fuel: 'off', 'max-output': '4K', dir: ['/a:/w'], 'ro-dir': ['/b'], env: ['K=V'] }),
    ).toEqual({
      timeoutMs: 2000, memoryLimitMb: 32, fuel: null, maxOutputBytes: 4096,
      fsReadwrite: [{ host: '/a', guest: '/w' }], fsReadonly: [{ host: '/b', guest: '/b' }], env: { K: 'V' },
    });
    expect(() => guestConfig({ memory: '1.5M' })).toThrow(UsageError);
  });
  test('parseBackend: native, js or auto (the default)', () => {
    expect(parseBackend(undefined)).toBe('auto');
    expect(parseBackend('js')).toBe('js');
    expect(() => parseBackend('gpu')).toThrow(/--backend: must be native, js or auto, got "gpu"/);
  });
});

test('formatBytes', () => {
  expect(formatBytes(0)).toBe('0 B');
  expect(formatBytes(1023)).toBe('1023 B');
  expect(formatBytes(1536)).toBe('1.5 KiB');
  expect(formatBytes(1024 ** 2)).toBe('1 MiB');
});
