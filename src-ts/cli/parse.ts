// Small parsers for the `mimobox` CLI: human durations and sizes, --dir and
// --env specs; and byte counts for humans. Pure functions, unit-tested in
// test/cli/cli-parse.test.ts.
import { isAbsolute, resolve } from 'node:path';
import type { Backend } from '../factory.js';
import type { SandboxConfig } from '../shared/types.js';
import { UsageError } from './usage.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `300ms`, `5s`, `1.5s`, `2m` or `1h` into whole milliseconds.
 * A bare number is seconds (as in timeout(1)). Must be at least 1 ms.
 */
export function parseDuration(text: string, flag = '--timeout'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${flag}: expected a duration like 300ms, 5s, 2m or 1h, got ${JSON.stringify(text)}`);
  const unit = DURATION_UNITS[(m[2] ?? 's').toLowerCase()]!;
  const ms = Math.round(Number(m[1]) * unit);
  if (!Number.isFinite(ms) || ms < 1) throw new UsageError(`${flag}: must be at least 1ms, got ${JSON.stringify(text)}`);
  if (ms > 24 * 3_600_000) throw new UsageError(`${flag}: must be at most 24h, got ${JSON.stringify(text)}`);
  return ms;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a size such as `64M`, `1G`, `512k`, `1MiB`, `2MB` or `100` into bytes. Suffixes are
 * binary (K = 1024); `B`, `iB` and `KB`-style spellings are accepted. A bare number is in
 * `bareUnit` ('B' for bytes, 'M' for MiB).
 */
export function parseSize(text: string, flag: string, bareUnit: 'B' | 'M' = 'B'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgt])(?:i?b)?|(b))?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${flag}: expected a size like 512K, 64M or 1G, got ${JSON.stringify(text)}`);
  const suffix = m[2] ?? m[3];
  const unit = suffix === undefined ? SIZE_UNITS[bareUnit.toLowerCase()]! : SIZE_UNITS[suffix.toLowerCase()]!;
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${flag}: not a whole number of bytes: ${JSON.stringify(text)}`);
  if (bytes < 1) throw new UsageError(`${flag}: must be positive, got ${JSON.stringify(text)}`);
  return bytes;
}

/** `--memory`: a size (bare number = MiB) that must be a whole number of MiB; returns MiB. */
export function parseMemoryMb(text: string): number {
  const bytes = parseSize(text, '--memory', 'M');
  if (bytes % (1024 * 1024) !== 0) {
    throw new UsageError(`--memory: must be a whole number of MiB (e.g. 64M or 1G), got ${JSON.stringify(text)}`);
  }
  return bytes / (1024 * 1024);
}

/** A size that must be a whole number of `unit` (K = KiB, M = MiB; a bare number is in `unit`); returns that count. */
export function parseWholeUnits(text: string, flag: string, unit: 'K' | 'M'): number {
  const size = unit === 'K' ? 1024 : 1024 * 1024;
  const m = /^\s*(\d+)\s*$/.exec(text);
  const bytes = m ? Number(m[1]) * size : parseSize(text, flag, 'B');
  if (bytes % size !== 0 || bytes < size) {
    throw new UsageError(`${flag}: must be a whole number of ${unit === 'K' ? 'KiB' : 'MiB'}, got ${JSON.stringify(text)}`);
  }
  return bytes / size;
}

/** `--fuel`: a positive integer instruction budget, or `off` (no fuel metering). */
export function parseFuel(text: string): number | null {
  if (/^\s*off\s*$/i.test(text)) return null;
  const cleaned = text.trim().replaceAll('_', '');
  if (!/^\d+$/.test(cleaned) || !Number.isSafeInteger(Number(cleaned)) || Number(cleaned) < 1) {
    throw new UsageError(`--fuel: expected a positive integer or "off", got ${JSON.stringify(text)}`);
  }
  return Number(cleaned);
}

export interface DirSpec {
  host: string;
  guest: string;
}

/**
 * Parses `HOST[:GUEST]` for --dir / --ro-dir. HOST is resolved against `cwd`; without GUEST
 * the guest sees the directory under its absolute host path. The split is on the last `:`
 * when what follows starts with `/` (so Windows drive letters such as `C:\data` stay whole).
 */
export function parseDirSpec(spec: string, flag: string, cwd = process.cwd()): DirSpec {
  if (spec.length === 0) throw new UsageError(`${flag}: expected HOST[:GUEST], got an empty string`);
  let host = spec;
  let guest: string | undefined;
  const colon = spec.lastIndexOf(':');
  if (colon > 0 && spec[colon + 1] === '/' && !/^[A-Za-z]$/.test(spec.slice(0, colon))) {
    host = spec.slice(0, colon);
    guest = spec.slice(colon + 1);
  } else if (colon === spec.length - 1 && colon > 0) {
    throw new UsageError(`${flag}: empty guest path in ${JSON.stringify(spec)} (use HOST:/GUEST)`);
  }
  const absHost = isAbsolute(host) ? host : resolve(cwd, host);
  return { host: absHost, guest: guest ?? absHost };
}

/**
 * Parses `--env K=V`. `--env K` (no `=`) passes the host's value of K through and is an
 * error when the host has none.
 */
export function parseEnvSpec(spec: string, hostEnv: NodeJS.ProcessEnv = process.env): [string, string] {
  const eq = spec.indexOf('=');
  const key = eq === -1 ? spec : spec.slice(0, eq);
  if (key.length === 0 || key.includes('\0')) throw new UsageError(`--env: expected K=V, got ${JSON.stringify(spec)}`);
  if (eq !== -1) return [key, spec.slice(eq + 1)];
  const value = hostEnv[key];
  if (value === undefined) throw new UsageError(`--env: ${key} is not set in the host environment (use ${key}=VALUE)`);
  return [key, value];
}

/** The options run, worker and python share: a guest's limits and what it sees of the host. */
export const GUEST_OPTIONS = {
  timeout: { type: 'string' },
  memory: { type: 'string' },
  fuel: { type: 'string' },
  dir: { type: 'string', multiple: true },
  'ro-dir': { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What run and worker add for a sandbox of their own (python's session picks neither). */
export const SANDBOX_OPTIONS = {
  ...GUEST_OPTIONS,
  'max-output': { type: 'string' },
  backend: { type: 'string' },
} as const;

export interface GuestValues {
  timeout?: string | undefined;
  memory?: string | undefined;
  fuel?: string | undefined;
  'max-output'?: string | undefined;
  dir?: string[] | undefined;
  'ro-dir'?: string[] | undefined;
  env?: string[] | undefined;
}

/** The SandboxConfig fields the shared options set; throws UsageError on a bad value. */
export function guestConfig(values: GuestValues): SandboxConfig {
  const config: SandboxConfig = {};
  if (values.timeout !== undefined) config.timeoutMs = parseDuration(values.timeout, '--timeout');
  if (values.memory !== undefined) config.memoryLimitMb = parseMemoryMb(values.memory);
  if (values.fuel !== undefined) config.fuel = parseFuel(values.fuel);
  if (values['max-output'] !== undefined) config.maxOutputBytes = parseSize(values['max-output'], '--max-output', 'B');
  if (values.dir) config.fsReadwrite = values.dir.map((d) => parseDirSpec(d, '--dir'));
  if (values['ro-dir']) config.fsReadonly = values['ro-dir'].map((d) => parseDirSpec(d, '--ro-dir'));
  if (values.env) config.env = Object.fromEntries(values.env.map((e) => parseEnvSpec(e)));
  return config;
}

/** `--backend`: native, js or auto (the default). */
export function parseBackend(text: string | undefined): Backend {
  const backend = text ?? 'auto';
  if (backend !== 'native' && backend !== 'js' && backend !== 'auto') {
    throw new UsageError(`--backend: must be native, js or auto, got ${JSON.stringify(text)}`);
  }
  return backend;
}

/** Human-readable byte count: 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${value.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}
