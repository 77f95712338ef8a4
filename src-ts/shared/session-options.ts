// Checks the options of openSession, session.call and session.close once, for
// both backends, into plain resolved values.
import { MAX_TIMEOUT_MS, validateEntry, validateEnv } from './config.js';
import { abortedError, ConfigError } from './errors.js';
import type { HostCall, SessionCallOptions, SessionCloseOptions, SessionOptions } from './types.js';

export interface ResolvedSessionOptions {
  /** argv after argv[0]. */
  args: string[];
  /** The sandbox's env with the session's merged over it. */
  env: Record<string, string>;
  idleMs: number | undefined;
  lifetimeMs: number | undefined;
  /** The session's hostCall, else the sandbox's. */
  hostCall: HostCall | undefined;
}

export interface ResolvedCallOptions {
  name: string;
  /** Present: write it at alloc(len) and call (ptr, len). */
  input: Uint8Array | undefined;
  alloc: string;
  timeoutMs: number | undefined;
  fuel: number | undefined;
  signal: AbortSignal | undefined;
}

export interface ResolvedCloseOptions {
  shutdown: string | undefined;
  budgetMs: number;
}

export const DEFAULT_SHUTDOWN_BUDGET_MS = 1000;

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? 'an object' : String(value);
}

function optionalMs(field: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw new ConfigError(field, `must be a whole number of ms from 1 to ${MAX_TIMEOUT_MS}, got ${kind(value)}`);
  }
  return value;
}

function object(field: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(field, `must be an object, got ${kind(value)}`);
  return value as Record<string, unknown>;
}

function known(field: string, o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new ConfigError(`${field}.${k}`, `is not a known option (known: ${keys.join(', ')})`);
  }
}

export function resolveSessionOptions(options: SessionOptions | undefined, sandboxEnv: Record<string, string>,
  sandboxHostCall: HostCall | undefined): ResolvedSessionOptions {
  const o = object('options', options);
  known('options', o, ['args', 'env', 'idleMs', 'lifetimeMs', 'hostCall']);
  const args = o.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' && !a.includes('\0'))) {
    throw new ConfigError('options.args', 'must be an array of strings without NUL bytes');
  }
  if (o.hostCall !== undefined && typeof o.hostCall !== 'function') {
    throw new ConfigError('options.hostCall', `must be a function (request: Buffer) => answer, got ${kind(o.hostCall)}`);
  }
  return {
    args: args as string[],
    env: { ...sandboxEnv, ...validateEnv('options.env', o.env) },
    idleMs: optionalMs('options.idleMs', o.idleMs),
    lifetimeMs: optionalMs('options.lifetimeMs', o.lifetimeMs),
    hostCall: (o.hostCall as HostCall | undefined) ?? sandboxHostCall,
  };
}

/** Checks a call's options; throws AbortError when its signal already fired. */
export function resolveCallOptions(exportName: unknown, options: SessionCallOptions | undefined): ResolvedCallOptions {
  const name = validateEntry('exportName', exportName);
  if (name === undefined) throw new ConfigError('exportName', 'must be the name of an exported function');
  const o = object('options', options);
  known('options', o, ['input', 'alloc', 'timeoutMs', 'fuel', 'signal']);
  let input: Uint8Array | undefined;
  if (typeof o.input === 'string') input = Buffer.from(o.input, 'utf8');
  else if (o.input instanceof Uint8Array) input = o.input;
  else if (o.input !== undefined) throw new ConfigError('options.input', `must be a Buffer, Uint8Array or string, got ${kind(o.input)}`);
  const alloc = validateEntry('options.alloc', o.alloc) ?? 'host_alloc';
  let fuel: number | undefined;
  if (o.fuel !== undefined) {
    if (typeof o.fuel !== 'number' || !Number.isSafeInteger(o.fuel) || o.fuel <= 0) {
      throw new ConfigError('options.fuel', `must be a positive whole number, got ${kind(o.fuel)}`);
    }
    fuel = o.fuel;
  }
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new ConfigError('options.signal', 'must be an AbortSignal');
  if (signal?.aborted) throw abortedError('session call', signal.reason, 'session goes on');
  return { name, input, alloc, timeoutMs: optionalMs('options.timeoutMs', o.timeoutMs), fuel, signal };
}

export function resolveCloseOptions(options: SessionCloseOptions | undefined): ResolvedCloseOptions {
  const o = object('options', options);
  known('options', o, ['shutdown', 'budgetMs']);
  return {
    shutdown: validateEntry('options.shutdown', o.shutdown),
    budgetMs: optionalMs('options.budgetMs', o.budgetMs) ?? DEFAULT_SHUTDOWN_BUDGET_MS,
  };
}
