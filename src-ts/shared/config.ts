// Validates a SandboxConfig once, for every backend, into a ResolvedConfig
// whose fields are all present and well-formed.
import { abortedError, ConfigError } from './errors.js';
import { checkProtectedGrants } from './grant-guard.js';
import type { DirGrant, ExecuteOptions, HostCall, Logger, SandboxConfig } from './types.js';

import { builtin } from './node-floor.js';

// A built-in through getBuiltinModule, not `import` (why: native/addon.ts).
const { isAbsolute, normalize } = builtin('node:path');
const { statSync } = builtin('node:fs');

export const DEFAULT_MEMORY_LIMIT_MB = 64;
export const MAX_MEMORY_LIMIT_MB = 4096; // wasm32's whole address space
export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_TIMEOUT_MS = 24 * 3600 * 1000;
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const MAX_OUTPUT_BYTES_LIMIT = 64 * 1024 * 1024;
export const DEFAULT_MAX_MODULE_MB = 256;
export const MAX_MODULE_MB_LIMIT = 1024;
export const DEFAULT_STACK_LIMIT_KB = 512;
export const MIN_STACK_LIMIT_KB = 64;
export const MAX_STACK_LIMIT_KB = 16 * 1024;
export type UnknownImports = 'error' | 'trap';
/** The default module size cap; a sandbox's own is `ResolvedConfig.maxModuleBytes`. */
export const MAX_MODULE_BYTES = DEFAULT_MAX_MODULE_MB * 1024 * 1024;
export const DEFAULT_ENV: Readonly<Record<string, string>> = Object.freeze({
  HOME: '/tmp',
  PATH: '/usr/bin:/bin',
  TERM: 'dumb',
  SANDBOX: 'wasm',
});

export interface ResolvedDir {
  host: string;
  guest: string;
}

export interface ResolvedConfig {
  memoryLimitBytes: number;
  timeoutMs: number;
  /** null = no metering (the default: the wall clock bounds a guest), number = exact budget. */
  fuel: number | null;
  readonlyDirs: ResolvedDir[];
  readwriteDirs: ResolvedDir[];
  env: Record<string, string>;
  maxOutputBytes: number;
  cache: boolean;
  cacheDir: string | undefined;
  maxConcurrency: number;
  queueTimeoutMs: number | undefined;
  /** Pooling-allocator slots (native); 0 = allocate on demand; undefined = the default. */
  poolInstances: number | undefined;
  /** Start executes on the calling thread for a bounded slice (native). */
  inline: boolean;
  /** Deepest wasm stack, in bytes. */
  stackLimitBytes: number;
  /** Largest module accepted, in bytes. */
  maxModuleBytes: number;
  /** Function imports the sandbox does not provide: refuse the module, or link each as a trap. */
  unknownImports: UnknownImports;
  /** Serves the guest's host.call import; undefined: it answers -1. */
  hostCall: HostCall | undefined;
  logger: Logger | undefined;
  warnings: string[];
}

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'memoryLimitMb', 'timeoutSecs', 'timeoutMs', 'fuel', 'fsReadonly', 'fsReadwrite', 'env',
  'defaultEnv', 'denyNetwork', 'maxOutputBytes', 'cache', 'cacheDir', 'maxConcurrency',
  'queueTimeoutMs', 'pool', 'inline', 'stackLimitKb', 'maxModuleMb', 'unknownImports', 'hostCall', 'logger', 'seccompProfile', 'allowFork', 'allowedHttpDomains',
]);

function positiveInteger(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(field, `must be a positive integer, got ${describe(value)}`);
  }
  if (value > max) throw new ConfigError(field, `must be at most ${max}, got ${value}`);
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function validateGuestPath(field: string, guest: string): string {
  if (guest.length === 0 || guest.includes('\0')) {
    throw new ConfigError(field, 'guest path must be a non-empty string without NUL bytes');
  }
  return guest;
}

function resolveDirs(field: string, value: unknown): ResolvedDir[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(field, `must be an array of paths, got ${describe(value)}`);
  return value.map((entry: DirGrant, i) => {
    const where = `${field}[${i}]`;
    let host: unknown;
    let guest: unknown;
    if (typeof entry === 'string') {
      host = entry;
      guest = entry;
    } else if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
      host = entry.host;
      guest = entry.guest;
    } else {
      throw new ConfigError(where, `must be a path or { host, guest }, got ${describe(entry)}`);
    }
    if (typeof host !== 'string' || typeof guest !== 'string') {
      throw new ConfigError(where, 'host and guest must be strings');
    }
    if (!isAbsolute(host) || host.includes('\0')) {
      throw new ConfigError(where, `host directory must be an absolute path, got ${JSON.stringify(host)}`);
    }
    let isDir = false;
    try {
      isDir = statSync(host).isDirectory();
    } catch {
      throw new ConfigError(where, `host directory ${host} does not exist: create it or remove it from ${field}`, 'DIR_NOT_FOUND');
    }
    if (!isDir) throw new ConfigError(where, `${host} is not a directory`, 'DIR_NOT_FOUND');
    return { host: normalize(host), guest: validateGuestPath(where, guest) };
  });
}

/** Checks an env map (from the config or an execute) and returns a clean copy. */
export function validateEnv(field: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(field, `must be an object of string values, got ${describe(value)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.length === 0 || k.includes('=') || k.includes('\0')) {
      throw new ConfigError(`${field}.${k}`, 'variable names must be non-empty and contain no "=" or NUL');
    }
    if (typeof v !== 'string' || v.includes('\0')) {
      throw new ConfigError(`${field}.${k}`, `must be a string without NUL bytes, got ${describe(v)}`);
    }
    out[k] = v;
  }
  return out;
}

export function resolveConfig(config: SandboxConfig = {}, cpuCount = 1): ResolvedConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError('config', `must be an object, got ${describe(config)}`);
  }
  for (const key of Object.keys(config)) {
    if (!KNOWN_KEYS.has(key)) throw new ConfigError(key, 'is not a known config field (check its spelling)');
  }
  const warnings: string[] = [];
  const c = config as Record<string, unknown>;

  const memoryLimitMb =
    c.memoryLimitMb === undefined ? DEFAULT_MEMORY_LIMIT_MB : positiveInteger('memoryLimitMb', c.memoryLimitMb, MAX_MEMORY_LIMIT_MB);

  if (c.timeoutSecs !== undefined && c.timeoutMs !== undefined) {
    throw new ConfigError('timeoutMs', 'give either timeoutSecs or timeoutMs, not both');
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (c.timeoutSecs !== undefined) timeoutMs = positiveInteger('timeoutSecs', c.timeoutSecs, MAX_TIMEOUT_MS / 1000) * 1000;
  if (c.timeoutMs !== undefined) timeoutMs = positiveInteger('timeoutMs', c.timeoutMs, MAX_TIMEOUT_MS);

  const fuel = c.fuel === null || c.fuel === undefined ? null : positiveInteger('fuel', c.fuel, Number.MAX_SAFE_INTEGER);

  const maxOutputBytes =
    c.maxOutputBytes === undefined
      ? DEFAULT_MAX_OUTPUT_BYTES
      : positiveInteger('maxOutputBytes', c.maxOutputBytes, MAX_OUTPUT_BYTES_LIMIT);

  if (c.defaultEnv !== undefined && typeof c.defaultEnv !== 'boolean') {
    throw new ConfigError('defaultEnv', `must be a boolean, got ${describe(c.defaultEnv)}`);
  }
  const env = { ...(c.defaultEnv === false ? {} : DEFAULT_ENV), ...validateEnv('env', c.env) };

  if (c.denyNetwork !== undefined && typeof c.denyNetwork !== 'boolean') {
    throw new ConfigError('denyNetwork', `must be a boolean, got ${describe(c.denyNetwork)}`);
  }
  if (c.denyNetwork === false) {
    warnings.push('denyNetwork: false has no effect: WebAssembly guests here never have network access');
  }
  if (c.cache !== undefined && typeof c.cache !== 'boolean') {
    throw new ConfigError('cache', `must be a boolean, got ${describe(c.cache)}`);
  }
  let cacheDir: string | undefined;
  if (c.cacheDir !== undefined) {
    if (typeof c.cacheDir !== 'string' || !isAbsolute(c.cacheDir) || c.cacheDir.includes('\0')) {
      throw new ConfigError('cacheDir', `must be an absolute path, got ${describe(c.cacheDir)}`);
    }
    cacheDir = normalize(c.cacheDir);
  }
  const maxConcurrency =
    c.maxConcurrency === undefined ? Math.max(1, cpuCount) : positiveInteger('maxConcurrency', c.maxConcurrency, 65_536);
  const queueTimeoutMs =
    c.queueTimeoutMs === undefined ? undefined : positiveInteger('queueTimeoutMs', c.queueTimeoutMs, MAX_TIMEOUT_MS);
  let poolInstances: number | undefined;
  if (c.pool === false) poolInstances = 0;
  else if (c.pool !== undefined) {
    if (c.pool === null || typeof c.pool !== 'object' || Array.isArray(c.pool)) {
      throw new ConfigError('pool', `must be false or { maxInstances }, got ${describe(c.pool)}`);
    }
    for (const k of Object.keys(c.pool)) {
      if (k !== 'maxInstances') throw new ConfigError(`pool.${k}`, 'is not a known field (use maxInstances)');
    }
    const max = (c.pool as { maxInstances?: unknown }).maxInstances;
    if (max !== undefined) poolInstances = positiveInteger('pool.maxInstances', max, 100_000);
  }
  if (c.inline !== undefined && typeof c.inline !== 'boolean') {
    throw new ConfigError('inline', `must be a boolean, got ${describe(c.inline)}`);
  }
  const stackLimitKb = c.stackLimitKb === undefined ? DEFAULT_STACK_LIMIT_KB : positiveInteger('stackLimitKb', c.stackLimitKb, MAX_STACK_LIMIT_KB);
  if (stackLimitKb < MIN_STACK_LIMIT_KB) {
    throw new ConfigError('stackLimitKb', `must be at least ${MIN_STACK_LIMIT_KB}, got ${stackLimitKb}`);
  }
  const maxModuleMb = c.maxModuleMb === undefined ? DEFAULT_MAX_MODULE_MB : positiveInteger('maxModuleMb', c.maxModuleMb, MAX_MODULE_MB_LIMIT);
  if (c.unknownImports !== undefined && c.unknownImports !== 'error' && c.unknownImports !== 'trap') {
    throw new ConfigError('unknownImports', `must be 'error' or 'trap', got ${describe(c.unknownImports)}`);
  }
  if (c.hostCall !== undefined && typeof c.hostCall !== 'function') {
    throw new ConfigError('hostCall', `must be a function (request: Buffer) => Buffer | string | null | Promise<...>, got ${describe(c.hostCall)}`);
  }
  if (c.logger !== undefined && typeof c.logger !== 'function') {
    throw new ConfigError('logger', `must be a function (level, message) => void, got ${describe(c.logger)}`);
  }
  if (c.seccompProfile !== undefined) {
    if (typeof c.seccompProfile !== 'string') throw new ConfigError('seccompProfile', 'must be a string');
    warnings.push('seccompProfile is ignored: WebAssembly guests make no system calls to filter');
  }
  if (c.allowFork !== undefined) {
    if (typeof c.allowFork !== 'boolean') throw new ConfigError('allowFork', 'must be a boolean');
    warnings.push('allowFork is ignored: WebAssembly guests cannot fork');
  }
  if (c.allowedHttpDomains !== undefined) {
    if (!Array.isArray(c.allowedHttpDomains) || !c.allowedHttpDomains.every((d) => typeof d === 'string')) {
      throw new ConfigError('allowedHttpDomains', 'must be an array of strings');
    }
    warnings.push('allowedHttpDomains is ignored: WebAssembly guests have no network access');
  }

  const readonlyDirs = resolveDirs('fsReadonly', c.fsReadonly);
  const readwriteDirs = resolveDirs('fsReadwrite', c.fsReadwrite);
  checkProtectedGrants(readonlyDirs, readwriteDirs, cacheDir);
  return {
    memoryLimitBytes: memoryLimitMb * 1024 * 1024,
    timeoutMs,
    fuel,
    readonlyDirs,
    readwriteDirs,
    env,
    maxOutputBytes,
    cache: c.cache !== false,
    cacheDir,
    maxConcurrency,
    queueTimeoutMs,
    poolInstances,
    inline: c.inline !== false,
    stackLimitBytes: stackLimitKb * 1024,
    maxModuleBytes: maxModuleMb * 1024 * 1024,
    unknownImports: (c.unknownImports as UnknownImports | undefined) ?? 'error',
    hostCall: c.hostCall as HostCall | undefined,
    logger: (c.logger as Logger | undefined) ?? envLogger(),
    warnings,
  };
}

/** `MIMOBOX_LOG=info|warn` turns on a stderr logger for callers that gave none. */
function envLogger(): Logger | undefined {
  const level = process.env.MIMOBOX_LOG;
  if (level !== 'info' && level !== 'warn') return undefined;
  return (msgLevel, message) => {
    if (level === 'warn' && msgLevel === 'info') return;
    process.stderr.write(`mimobox ${msgLevel}: ${message}\n`);
  };
}

export interface ResolvedCommand {
  path: string;
  args: string[];
}

/** Checks the command: a non-empty array of strings whose first element is the module path. */
export function validateCommand(cmd: unknown): ResolvedCommand {
  if (!Array.isArray(cmd) || cmd.length === 0) {
    throw new ConfigError('cmd', 'must be a non-empty array: [modulePath, ...args]', 'COMMAND_INVALID');
  }
  cmd.forEach((a, i) => {
    if (typeof a !== 'string' || a.includes('\0')) {
      throw new ConfigError(`cmd[${i}]`, `must be a string without NUL bytes, got ${describe(a)}`, 'COMMAND_INVALID');
    }
  });
  if ((cmd[0] as string).length === 0) throw new ConfigError('cmd[0]', 'the module path is empty', 'COMMAND_INVALID');
  return { path: cmd[0] as string, args: cmd as string[] };
}

export function toStdinBytes(stdin: unknown): Uint8Array {
  if (stdin === undefined) return new Uint8Array(0);
  if (typeof stdin === 'string') return Buffer.from(stdin, 'utf8');
  if (stdin instanceof Uint8Array) return stdin;
  throw new ConfigError('stdin', `must be a Buffer, Uint8Array or string, got ${describe(stdin)}`);
}

export interface ResolvedExecuteOptions {
  /** The sandbox's env with the execute's merged over it. */
  env: Record<string, string>;
  stdin: Uint8Array;
  signal: AbortSignal | undefined;
  /** The export to run instead of `_start`/`main`, when given. */
  entry: string | undefined;
}

/** Checks an entry name: a non-empty export name without NUL bytes. */
export function validateEntry(field: string, entry: unknown): string | undefined {
  if (entry === undefined) return undefined;
  if (typeof entry !== 'string' || entry.length === 0 || entry.includes('\0') || entry.length > 1024) {
    throw new ConfigError(field, `must be the name of an exported function, got ${describe(entry)}`);
  }
  return entry;
}

/** Checks an execute's options (both backends); throws AbortError if the signal already fired. */
export function resolveExecuteOptions(opts: unknown, sandboxEnv: Record<string, string>): ResolvedExecuteOptions {
  if (opts === null || typeof opts !== 'object') throw new ConfigError('opts', 'must be an object');
  const o = opts as ExecuteOptions;
  const env = { ...sandboxEnv, ...validateEnv('opts.env', o.env) };
  const stdin = toStdinBytes(o.stdin);
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ConfigError('opts.signal', 'must be an AbortSignal');
  }
  const entry = validateEntry('opts.entry', o.entry);
  if (signal?.aborted) throw abortedError('execute', signal.reason);
  return { env, stdin, signal, entry };
}
